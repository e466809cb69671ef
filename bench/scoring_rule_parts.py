"""Benchmark: where `int_lead_score_rules`' time goes, the hits against the decay, window and cap pass.

    python bench/scoring_rule_parts.py WAREHOUSE [--runs N] [--threads T] [--sql FILE]

WAREHOUSE is a built warehouse file, e.g. the full refresh that `python bench/pipeline.py
--incremental-only --people N --keep DIR` leaves in DIR/incremental/full/warehouse.duckdb (the scale
is the N of that run). The model is compiled by dbt (the worktree's project, as
bench/scoring_sums_repeat.py does) and cut at its CTEs. In one DuckDB process (the warehouse attached
read only, T threads, each part `create temp table`, N runs, the fastest kept), it times:

- `whole`: the model's compiled SQL as dbt runs it (the baseline of the split);
- `hits`: the CTE `buckets` (every hit of every rule at every point: events, CRM activities, mail
  deliveries, sessions, opportunities, profiles, silence), stored as a temp table;
- `pass`: the rest of the model (decay, per-day and total caps, cap groups, the exact sums) reading
  that stored table instead of the hit CTEs: what a pass over kept buckets would cost at most
  (it still reads the buckets of every point, as the model stores them);
- each hit CTE on its own (its inputs included), and the buckets' rows by kind of point (current,
  previous, lead:, snap<d>:).

The pass's output is checked equal to `whole`'s (rows of either not in the other, both ways). Seconds
are wall, CPU-s the process's user + system time over the part (DuckDB's threads included). The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring_sums_repeat import compiled  # noqa: E402  (the one home of compiling the scoring models)

MODEL = "int_lead_score_rules"
# the hit CTEs of the model, each timed on its own (with the CTEs it reads)
HIT_PARTS = (
    "event_hits", "activity_hits", "delivery_hits", "session_buckets", "opportunity_buckets",
    "profile_hits", "silence_hits",
)  # fmt: skip


def without_comments(sql: str) -> str:
    """The SQL without its `--` comments (their apostrophes and parentheses would mislead the cut)."""
    kept, quoted, index = [], False, 0
    while index < len(sql):
        char = sql[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and sql.startswith("--", index):
            index = sql.find("\n", index)
            if index < 0:
                break
            continue
        kept.append(char)
        index += 1
    return "".join(kept)


def split_ctes(sql: str) -> tuple[str, dict[str, str], str]:
    """The SQL's text before its `with`, its CTEs (name -> body, in order) and its final select."""
    sql = without_comments(sql)
    lower = sql.lower()
    start = lower.index("with") + len("with")
    ctes: dict[str, str] = {}
    position = start
    while True:
        opening = sql.index("(", position)
        name = sql[position:opening].strip().lstrip(",").strip()
        assert name.lower().endswith(" as"), f"not a CTE head: {name!r}"
        name = name[: -len(" as")].strip()
        depth, index, quoted = 0, opening, False
        while True:
            char = sql[index]
            if char == "'":
                quoted = not quoted
            elif not quoted and char == "(":
                depth += 1
            elif not quoted and char == ")":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        ctes[name] = sql[opening + 1 : index]
        position = index + 1
        following = sql[position:].lstrip()
        if not following.startswith(","):
            return sql[: start - len("with")], ctes, following
        position = sql.index(",", position) + 1


def assemble(head: str, ctes: dict[str, str], tail: str) -> str:
    return head + "with\n" + ",\n".join(f"{name} as ({body})" for name, body in ctes.items()) + "\n" + tail


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(con, table: str, sql: str, runs: int) -> dict:
    best: dict | None = None
    for _ in range(runs):
        wall, used = time.perf_counter(), cpu()
        con.execute(f"create or replace temp table {table} as {sql}")
        figures = {"seconds": round(time.perf_counter() - wall, 2), "cpu_seconds": round(cpu() - used, 2)}
        if best is None or figures["cpu_seconds"] < best["cpu_seconds"]:
            best = figures
    assert best is not None
    best["rows"] = con.execute(f"select count(*) from {table}").fetchone()[0]
    return best


def point_kind(column: str = "score_point") -> str:
    return f"case when {column} in ('current', 'previous') then {column} else split_part({column}, ':', 1) end"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sql", type=Path, help="the model's compiled SQL (default: compiled by dbt here)")
    args = parser.parse_args()
    import duckdb

    if args.sql:
        sql = args.sql.read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="scoring-parts-") as work:
            sql = compiled(Path(work))[MODEL]
    head, ctes, tail = split_ctes(sql)
    assert "buckets" in ctes and all(part in ctes for part in HIT_PARTS), sorted(ctes)
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    con.execute(f"attach '{args.warehouse}' as warehouse (read_only)")
    result: dict = {"warehouse": str(args.warehouse), "runs": args.runs, "threads": args.threads}
    result["whole"] = timed(con, "part_whole", sql, args.runs)
    result["hits"] = timed(con, "part_buckets", assemble(head, ctes, "select * from buckets"), args.runs)
    rest = dict(ctes, buckets="select * from part_buckets")
    result["pass"] = timed(con, "part_pass", assemble(head, rest, tail), args.runs)
    result["pass_equal_whole"] = (
        con.execute(
            "select (select count(*) from (select * from part_pass except all select * from part_whole))"
            " + (select count(*) from (select * from part_whole except all select * from part_pass))"
        ).fetchone()[0]
        == 0
    )
    result["hit_parts"] = {
        part: timed(con, "part_hit", assemble(head, ctes, f"select * from {part}"), args.runs) for part in HIT_PARTS
    }
    result["bucket_rows_by_point"] = dict(con.execute(
        f"select {point_kind()} as kind, count(*) from part_buckets group by 1 order by 1"
    ).fetchall())  # fmt: skip
    result["points_by_kind"] = dict(con.execute(
        f"select {point_kind()} as kind, count(*) from warehouse.intermediate.int_score_points group by 1 order by 1"
    ).fetchall())  # fmt: skip
    # what a kept, time-independent table would hold: a row per person, rule and calendar day of a hit
    result["distinct_person_rule_days"] = con.execute(
        "select count(*) from (select distinct person_id, rule_id, cast(last_hit_at as date) from part_buckets)"
    ).fetchone()[0]
    whole_cpu = max(result["whole"]["cpu_seconds"], 1e-9)
    result["hits_share_of_whole_cpu"] = round(result["hits"]["cpu_seconds"] / whole_cpu, 3)
    result["pass_share_of_whole_cpu"] = round(result["pass"]["cpu_seconds"] / whole_cpu, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
