"""Benchmark: do two evaluations of the scoring models on the same warehouse give the same numbers?

    python bench/scoring_sums_repeat.py WAREHOUSE [--runs N] [--threads T]

WAREHOUSE is a built warehouse file, e.g. the full refresh that `python bench/pipeline.py
--incremental-only --people N --keep DIR` leaves in DIR/incremental/full/warehouse.duckdb (the scale
is the N of that run). The script compiles `int_lead_score_rules` and `int_score_point_activity` with
dbt (the worktree's project), and beside them, as the baseline in the same run, the same SQL with every
`exact_sum` (macros/scoring.sql) written back as the plain `sum` it replaced. DuckDB runs each query
N times on the warehouse (read only, T threads, `create temp table`) and counts the rows whose summed
columns are not identical to the first run's, and the seconds per run. The last line is one JSON
object: per model and variant the rows, the rows differing, the seconds per run, and the ratio of
the exact variant's seconds to the plain one's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

MODELS = {
    "int_lead_score_rules": ("person_id, score_point, rule_id", ("rule_points", "points_awarded")),
    "int_score_point_activity": ("person_id, score_point", ("engagement_seconds_all", "pricing_seconds")),
}
# exact_sum as dbt renders it on DuckDB, the value inside
EXACT = re.compile(r"cast\(sum\(cast\((.*?) as decimal\(18, 9\)\)\) as double precision\)", re.DOTALL)


def compiled(work: Path) -> dict[str, str]:
    from tests.dbt.conftest import _dbt_command, _dbt_env

    (work / "lake").mkdir(parents=True, exist_ok=True)
    command = _dbt_command(work, "compile", "--select", *MODELS, "--no-write-json")
    done = subprocess.run(command, env=_dbt_env(work / "lake", None), capture_output=True, text=True, cwd=work)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:])
    folder = work / "target" / "compiled" / "intent_warehouse" / "models" / "intermediate" / "scoring"
    return {model: (folder / f"{model}.sql").read_text(encoding="utf-8") for model in MODELS}


def repeat(con, sql: str, key: str, columns: tuple[str, ...], runs: int) -> dict:
    started = time.perf_counter()
    con.execute(f"create or replace temp table run_0 as {sql}")
    differing = 0
    for _ in range(1, runs):
        con.execute(f"create or replace temp table run_n as {sql}")
        changed = " or ".join(f"run_0.{c} is distinct from run_n.{c}" for c in columns)
        differing = max(differing, con.execute(f"select count(*) from run_0 join run_n using ({key})"
                                               f" where {changed}").fetchone()[0])  # fmt: skip
    seconds = (time.perf_counter() - started) / runs
    rows = con.execute("select count(*) from run_0").fetchone()[0]
    return {"rows": rows, "rows_differing": differing, "seconds_per_run": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import duckdb

    with tempfile.TemporaryDirectory(prefix="scoring-sums-") as work:
        exact = compiled(Path(work))
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    con.execute(f"attach '{args.warehouse}' as warehouse (read_only)")
    result: dict = {"warehouse": str(args.warehouse), "runs": args.runs, "threads": args.threads}
    for model, (key, columns) in MODELS.items():
        sql = exact[model]
        plain = EXACT.sub(r"sum(\1)", sql)
        assert plain != sql, f"{model}: no exact_sum found in its compiled SQL"
        variants = (("plain", plain), ("exact", sql))
        figures = {name: repeat(con, text, key, columns, args.runs) for name, text in variants}
        figures["seconds_ratio"] = round(figures["exact"]["seconds_per_run"] / figures["plain"]["seconds_per_run"], 3)
        result[model] = figures
        print(model, figures, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
