"""The dbt project on Apache Spark (dbt-spark, ``method: session``; issue #20, docs/portability.md).

``dbt-spark``'s session method runs Spark inside the dbt process (pyspark starts a local JVM), so
every dbt command of a build, and the comparison with DuckDB after it, run here in ONE process
through dbt's programmatic ``dbtRunner``: one JVM start (about 20 s of a loaded 2-core machine)
instead of one per dbt command, and the in-memory catalog (``INTENT_SPARK_CATALOG=in-memory``) still
holds the tables when they are compared.

``python -m intent_pipeline.spark_build --lake L --duckdb W --out result.json -- dbt args...`` builds
with the ``spark`` target of dbt_project/profiles.yml and compares every model and seed it built
with the same relation of the DuckDB warehouse ``W`` (``engine_compare.compare_with_duckdb``);
``--show FILE`` then runs one select of ``FILE`` (dbt Jinja) in the same session and writes its rows
(as text) into the result, ``shown``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def spark_env(lake: Path, spark_dir: Path, catalog: str = "hive", master: str = "local[*]") -> dict[str, str]:
    """The variables of the ``spark`` target (dbt_project/profiles.yml) for a build of ``lake``,
    with Spark's warehouse and metastore under ``spark_dir``."""
    return {
        "DBT_TARGET": "spark",
        "INTENT_LAKE_DIR": str(lake.resolve()),
        "INTENT_SPARK_DIR": str(spark_dir.resolve()),
        "INTENT_SPARK_CATALOG": catalog,
        "INTENT_SPARK_MASTER": master,
        # pyspark hands timestamps to Python in the process's local zone; the lake's are UTC
        "TZ": "UTC",
    }


def build_spark(dbt_args: list[str], target_path: Path, log_path: Path, project: Path = DBT_PROJECT) -> dict[str, Any]:
    """Run the dbt commands ``dbt_args`` (one command, e.g. ``["build", "--select", "..."]``) on the
    spark target in this process, on the dbt project ``project`` (the repository's, or a copy with
    edited seeds). Returns success, per node (``unique_id``) its status, relation and seconds, and the
    wall seconds."""
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke([
        *dbt_args, "--project-dir", str(project), "--profiles-dir", str(project),
        "--target", "spark", "--target-path", str(target_path), "--log-path", str(log_path),
    ])  # fmt: skip
    nodes = {}
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        nodes[node.unique_id] = {
            "status": str(node_result.status),
            "resource_type": str(node.resource_type),
            "relation": f"{node.schema}.{node.alias}" if hasattr(node, "alias") else None,
            "seconds": round(node_result.execution_time, 3),
            "message": (node_result.message or "")[:2000] if str(node_result.status) not in ("success", "pass") else "",
        }
    error = str(result.exception)[:2000] if result.exception else None
    return {"success": result.success, "error": error, "nodes": nodes, "seconds": round(time.monotonic() - started, 1)}


class SparkEngine:
    """The Spark side of the precomputed route (intent_pipeline.precomputed), in this process's session."""

    def __init__(self, spark):
        self.spark = spark

    def fingerprint(self, relation: str) -> str:
        from intent_pipeline.precomputed import SPARK, fingerprint_sql

        return self.spark.sql(fingerprint_sql(relation, SPARK)).collect()[0][0]

    def read_frame(self, relation: str):
        from intent_pipeline.precomputed import frame_of

        frame = self.spark.sql(f"select * from {relation}")
        return frame_of(list(frame.columns), [tuple(row) for row in frame.collect()])

    def write(self, table, fingerprint: str, settings: str) -> None:
        from intent_pipeline.precomputed import ATTRIBUTION_MODEL, SPARK, STAGED_SCHEMA, sql_type

        schema = ", ".join(f"`{field.name}` {sql_type(field.type, SPARK)}" for field in table.schema)
        rows = [tuple(row.values()) for row in table.to_pylist()]
        self.spark.sql(f"create database if not exists {STAGED_SCHEMA}")
        staged = f"{STAGED_SCHEMA}.{ATTRIBUTION_MODEL}"
        stamp = self.spark.createDataFrame([(fingerprint, settings)], schema="fingerprint string, settings string")
        credits = self.spark.createDataFrame(rows, schema=schema)
        for frame, name in ((credits, staged), (stamp, f"{staged}__computed_from")):
            frame.write.mode("overwrite").format("parquet").saveAsTable(name)


def _selection_options(dbt_args: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``dbt_args`` split into the rest, the --select values and the --exclude values."""
    rest: list[str] = []
    chosen: dict[str, list[str]] = {"--select": [], "--exclude": []}
    current = None
    for arg in dbt_args:
        if arg in ("--select", "-s", "--exclude"):
            current = chosen["--exclude" if arg == "--exclude" else "--select"]
        elif current is not None and not arg.startswith("-"):
            current.append(arg)
        else:
            current = None
            rest.append(arg)
    return rest, chosen["--select"], chosen["--exclude"]


def build_spark_precomputed(
    dbt_args: list[str], target_path: Path, log_path: Path, project: Path = DBT_PROJECT
) -> dict[str, Any]:
    """``build_spark`` in two phases around the Python model, as Postgres's build (dbt-spark's
    session runs no Python model): ``dbt_args`` without ``attribution_touch_credits`` and its
    children; ``precomputed.run_precomputed`` on what the first phase built, in this session; then
    the model and its children (those of them ``dbt_args`` selects). One result of both phases
    (``attribution_seconds``: the step's)."""
    from pyspark.sql import SparkSession

    from intent_pipeline.precomputed import ATTRIBUTION_MODEL, run_precomputed

    rest, select, exclude = _selection_options(dbt_args)
    first = [*rest, *(["--select", *select] if select else []), "--exclude", *exclude, f"{ATTRIBUTION_MODEL}+"]
    result = build_spark(first, target_path, log_path, project)
    if not result["success"]:
        return result
    started = time.monotonic()
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    result["attribution_rows"] = run_precomputed(target_path / "manifest.json", SparkEngine(spark))
    result["attribution_seconds"] = round(time.monotonic() - started, 1)
    second_selection = [f"{ATTRIBUTION_MODEL}+"] if not select else [f"{ATTRIBUTION_MODEL}+,{s}" for s in select]
    second = build_spark([*rest, "--select", *second_selection, *(["--exclude", *exclude] if exclude else [])],
                         target_path, log_path, project)  # fmt: skip
    return {
        "success": second["success"],
        "error": second["error"],
        "nodes": {**result["nodes"], **second["nodes"]},
        "seconds": round(result["seconds"] + result["attribution_seconds"] + second["seconds"], 1),
        "attribution_rows": result["attribution_rows"],
        "attribution_seconds": result["attribution_seconds"],
    }


def show_spark(sql: str, target_path: Path, log_path: Path, project: Path = DBT_PROJECT) -> list[list[Any]]:
    """The rows of ``sql`` (a select with dbt Jinja: the project's macros render for Spark), run with
    ``dbt show --inline`` on the spark target in this process's Spark session (no second JVM)."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([
        "show", "--inline", sql, "--limit", "-1", "--project-dir", str(project), "--profiles-dir", str(project),
        "--target", "spark", "--target-path", str(target_path), "--log-path", str(log_path),
    ])  # fmt: skip
    if not result.success:
        raise RuntimeError(f"dbt show failed: {result.exception}")
    results = getattr(result.result, "results", None) or []
    table = getattr(results[0], "agate_table", None) if results else None
    if table is None:
        raise RuntimeError("dbt show returned no table")
    return [[None if value is None else str(value) for value in row] for row in table.rows]


def compare_spark(duckdb_path: Path | str, relations: list[str]) -> dict[str, str]:
    """``relations`` (``schema.table``) of this process's Spark session against DuckDB's
    (``engine_compare.compare_with_duckdb``). Returns what differs per relation (empty: all equal)."""
    from pyspark.sql import SparkSession

    from intent_pipeline.engine_compare import compare_with_duckdb

    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()

    def columns(schema: str, table: str) -> list[str]:
        return list(spark.table(f"`{schema}`.`{table}`").columns)

    def rows(query: str) -> list[tuple]:
        return [tuple(row) for row in spark.sql(query).collect()]

    return compare_with_duckdb(duckdb_path, relations, "spark", columns, rows,
                               quote_other=lambda name: "`" + name.replace("`", "``") + "`")  # fmt: skip


def jvm_cpu_seconds() -> float | None:
    """CPU seconds (user + system) the session's JVM used so far, from /proc (Linux); None elsewhere
    or before Spark started. The JVM is pyspark's child, still running here, so getrusage cannot see it."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    stat = Path(f"/proc/{process.pid}/stat") if process is not None else None
    if stat is None or not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return round(ticks / os.sysconf("SC_CLK_TCK"), 1)


def jvm_peak_rss_mb() -> float | None:
    """The session's JVM's peak resident memory so far (MB, /proc VmHWM); None as jvm_cpu_seconds."""
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    status = Path(f"/proc/{process.pid}/status") if process is not None else None
    if status is None or not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intent_pipeline.spark_build")
    parser.add_argument("--lake", type=Path, required=True, help="the raw lake to build from")
    parser.add_argument("--duckdb", type=Path, help="a DuckDB warehouse of the same lake to compare with")
    parser.add_argument("--work", type=Path, required=True, help="a folder for Spark's files and dbt's target")
    parser.add_argument("--catalog", default="in-memory", help="hive or in-memory (default: one process)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--out", type=Path, required=True, help="where the result (JSON) is written")
    parser.add_argument("--show", type=Path, help="a select (dbt Jinja) shown after the build, in the same session")
    parser.add_argument(
        "--precomputed",
        action="store_true",
        help="build in two phases around the Python attribution model (build_spark_precomputed)",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=DBT_PROJECT,
        help="the dbt project (default: the repository's; a copy with edited seeds)",
    )
    parser.add_argument("dbt_args", nargs="+", help="the dbt command, e.g. build --select +staging")
    args = parser.parse_args(argv)
    os.environ.update(spark_env(args.lake, args.work / "spark", args.catalog, args.master))
    time.tzset()
    build = build_spark_precomputed if args.precomputed else build_spark
    result = build(args.dbt_args, args.work / "target", args.work / "logs", args.project)
    if args.duckdb is not None:
        built = sorted(
            node["relation"] for node in result["nodes"].values()
            if node["resource_type"] in ("model", "seed") and node["status"] == "success"
        )  # fmt: skip
        started = time.monotonic()
        result["compared"] = built
        result["differences"] = compare_spark(args.duckdb, built)
        result["compare_seconds"] = round(time.monotonic() - started, 1)
    if args.show is not None:
        started = time.monotonic()
        result["shown"] = show_spark(args.show.read_text(), args.work / "target", args.work / "logs", args.project)
        result["show_seconds"] = round(time.monotonic() - started, 1)
    own = resource.getrusage(resource.RUSAGE_SELF)
    result["python_cpu_seconds"] = round(own.ru_utime + own.ru_stime, 1)
    result["jvm_cpu_seconds"] = jvm_cpu_seconds()
    result["jvm_peak_rss_mb"] = jvm_peak_rss_mb()
    result["python_peak_rss_mb"] = round(own.ru_maxrss / 1024, 1)
    args.out.write_text(json.dumps(result, indent=2))
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
