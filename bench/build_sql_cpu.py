"""Benchmark: how much of a kept dbt build's CPU is its nodes' SQL, node by node.

    python bench/build_sql_cpu.py TARGET WAREHOUSE [--runs N] [--threads T] [--write DIR]

TARGET is the target folder of a build that `python bench/pipeline.py --incremental-only --people N --keep
DIR` kept (e.g. DIR/dbt-empty-<day>/target: the empty day's build), WAREHOUSE the warehouse file that build
wrote (DIR/incremental/empty/warehouse.duckdb). Every model and data test of the build's run_results.json
has its compiled SQL run alone in one DuckDB process on that warehouse (attached read only as dbt names it,
T threads; a model as `create temp table`, a data test as a count of its failing rows; N runs, the
cheapest kept). Each node reads the tables the build left, which are the ones it read unless the build
rewrote one of its inputs after it (the warehouse after the build, not before); a node whose SQL fails
there (an incremental model reading a scratch table its build dropped) is listed under `failed`. CPU-s are
the process's user + system time (DuckDB's threads included). Set the build's own CPU-s
(`incremental_*_cpu_seconds` of the same bench run) beside the total: what is left is dbt's own work (start,
the kept parse, per-node bookkeeping and DDL, writing the tables to the file, artifacts) and the bench's.
With `--write DIR` the warehouse is copied into DIR (and the copy deleted at the end) and attached read-write:
each model is written as a table of a schema of its own in the file, and the copy checkpointed once at the
end (`checkpoint_cpu_seconds`, in the total), as a dbt build writes its tables (its profile checkpoints once
per build); the data tests still read the build's own tables. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring_rule_parts import cpu  # noqa: E402  (the process's CPU-s, one home for both scripts)


def node_sql(target: Path, manifest: dict, unique_id: str) -> str | None:
    node = manifest["nodes"].get(unique_id)
    if node is None:
        return None
    path = target / "compiled" / node["package_name"] / node["original_file_path"]
    if node["resource_type"] == "test":
        path = target / "compiled" / node["package_name"] / node["original_file_path"] / node["path"]
        if not path.exists():  # a singular test: its compiled SQL sits at its own path
            path = target / "compiled" / node["package_name"] / node["original_file_path"]
    return path.read_text(encoding="utf-8") if path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", type=Path, help="write the models' tables into a copy of WAREHOUSE in this folder")
    args = parser.parse_args()
    import duckdb

    results = json.loads((args.target / "run_results.json").read_text(encoding="utf-8"))["results"]
    manifest = json.loads((args.target / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    copy = None
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        copy = args.write / args.warehouse.name
        shutil.copyfile(args.warehouse, copy)
        con.execute(f"attach '{copy}' as {args.warehouse.stem}")
        con.execute(f"create schema if not exists {args.warehouse.stem}.build_sql_cpu")
    else:
        con.execute(f"attach '{args.warehouse}' as {args.warehouse.stem} (read_only)")
    figures: dict[str, dict] = {"model": {}, "test": {}}
    missing: list[str] = []
    failed: list[str] = []
    for result in results:
        kind = result["unique_id"].split(".")[0]
        if kind not in figures or result["status"] in ("skipped", "error"):
            continue
        sql = node_sql(args.target, manifest, result["unique_id"])
        if sql is None:
            missing.append(result["unique_id"])
            continue
        name = result["unique_id"].split(".", 2)[-1]
        written = f"{args.warehouse.stem}.build_sql_cpu.{name}" if copy else "node_rows"
        statement = (
            f"create or replace {'' if copy else 'temp '}table {written} as {sql}"
            if kind == "model"
            else f"select count(*) from ({sql})"
        )
        best = None
        for _ in range(args.runs):
            wall, used = time.perf_counter(), cpu()
            try:
                con.execute(statement).fetchall()
            except duckdb.Error as error:  # e.g. an incremental model's scratch table, dropped after its build
                failed.append(f"{result['unique_id']}: {str(error).splitlines()[0][:120]}")
                break
            spent = (cpu() - used, time.perf_counter() - wall)
            best = spent if best is None or spent[0] < best[0] else best
        if best is None:
            continue
        figures[kind][name] = {"cpu_seconds": round(best[0], 3), "seconds": round(best[1], 2),
                               "dbt_seconds": round(result["execution_time"], 2)}  # fmt: skip
    summary = {
        kind: {
            "nodes": len(nodes),
            "sql_cpu_seconds": round(sum(n["cpu_seconds"] for n in nodes.values()), 2),
            "dbt_node_seconds": round(sum(n["dbt_seconds"] for n in nodes.values()), 2),
            "top": dict(sorted(((k, n["cpu_seconds"]) for k, n in nodes.items()), key=lambda kv: -kv[1])[:8]),
        }
        for kind, nodes in figures.items()
    }
    head = {"target": str(args.target), "runs": args.runs, "threads": args.threads, "written": bool(copy)}
    checkpoint = 0.0
    if copy:
        used = cpu()
        con.execute(f"checkpoint {args.warehouse.stem}")
        checkpoint = cpu() - used
        head["checkpoint_cpu_seconds"] = round(checkpoint, 2)
        head["written_tables"] = con.execute(
            f"select count(*) from duckdb_tables() where database_name = '{args.warehouse.stem}'"
            " and schema_name = 'build_sql_cpu'"
        ).fetchone()[0]
        con.close()
        copy.unlink()
        copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
    head["sql_cpu_seconds"] = round(sum(s["sql_cpu_seconds"] for s in summary.values()) + checkpoint, 2)
    print(json.dumps({**head, "missing": missing, "failed": failed, **summary, "nodes": figures}))


if __name__ == "__main__":
    main()
