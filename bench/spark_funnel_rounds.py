"""python bench/spark_funnel_rounds.py WAREHOUSE WORK TREE_A TREE_B

A/B of int_funnel_steps_reached's Spark SQL: the rounds of tree A (before) and tree B (after), compiled
by dbt-spark in one local session over the model's four parents copied from a DuckDB warehouse, each run
once; the JVM's CPU seconds (from /proc) and wall time per query; rows compared with each other and DuckDB's."""

import json
import os
import sys
import time
from pathlib import Path

import duckdb
from dbt.cli.main import dbtRunner
from pyspark.sql import SparkSession

# WORK absolute: dbt reads a relative --target-path from the project's folder
warehouse, work, trees = Path(sys.argv[1]), Path(sys.argv[2]).absolute(), sys.argv[3:]
work.mkdir(parents=True, exist_ok=True)
parents = [
    "staging.funnel_steps",
    "intermediate.int_events_unified",
    "intermediate.int_touchpoints",
    "intermediate.int_grade_history",
]
with duckdb.connect(str(warehouse), read_only=True) as con:
    for rel in parents:
        con.execute(f"copy (select * from {rel}) to '{work / rel}.parquet' (format parquet)")
    duck_rows = sorted(
        tuple(str(v) for v in r) for r in con.execute("select * from intermediate.int_funnel_steps_reached").fetchall()
    )

os.environ.update(
    INTENT_SPARK_CATALOG="in-memory",
    INTENT_SPARK_DIR=str(work / "spark"),
    INTENT_SPARK_MASTER="local[1]",
    INTENT_SPARK_SHUFFLE_PARTITIONS="1",
    INTENT_SPARK_ADAPTIVE="false",
    INTENT_SPARK_JAVA_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    INTENT_LAKE_DIR=str(work / "lake"),
)

spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.shuffle.partitions", "1")
    .config("spark.sql.adaptive.enabled", "false")
    .config("spark.sql.parser.escapedStringLiterals", "true")
    .config("spark.sql.analyzer.maxIterations", "1000")
    .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    .config("spark.sql.warehouse.dir", str(work / "spark" / "warehouse"))
    .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    .getOrCreate()
)
for rel in parents:
    schema, table = rel.split(".")
    spark.sql(f"create database if not exists {schema}")
    df = spark.read.parquet(f"{work / rel}.parquet")
    cols = ", ".join(
        f"cast(`{f.name}` as timestamp) as `{f.name}`"
        if f.dataType.simpleString() == "timestamp_ntz"
        else f"`{f.name}`"
        for f in df.schema
    )
    df.createOrReplaceTempView("t")
    spark.sql(f"create table {rel} using parquet as select {cols} from t")


def jvm_cpu():
    """CPU seconds of this process's JVM children (pyspark's JVM is not waited for: RUSAGE_CHILDREN misses it)."""
    import subprocess

    total = 0.0
    pids = subprocess.run(["pgrep", "-P", str(os.getpid()), "java"], capture_output=True, text=True).stdout.split()
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


out = {}
results = {}
for label, tree in zip("AB", trees, strict=True):
    project = Path(tree) / "dbt_project"
    r = dbtRunner().invoke(
        [
            "compile",
            "--select",
            "int_funnel_steps_reached",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target",
            "spark",
            "--target-path",
            str(work / f"target-{label}"),
            "--log-path",
            str(work / f"logs-{label}"),
        ]
    )
    assert r.success, r.exception
    sql = next((work / f"target-{label}").rglob("int_funnel_steps_reached.sql")).read_text()
    c0, t0 = jvm_cpu(), time.monotonic()
    rows = spark.sql(sql).collect()
    c1, t1 = jvm_cpu(), time.monotonic()
    results[label] = sorted(tuple(str(v) for v in r) for r in rows)
    out[label] = {
        "tree": tree,
        "rows": len(rows),
        "jvm_cpu_seconds": round(c1 - c0, 1),
        "wall_seconds": round(t1 - t0, 1),
        "sql_chars": len(sql),
        "load": os.getloadavg(),
    }
    print(label, out[label], flush=True)
out["A_equals_B"] = results["A"] == results["B"]
out["B_rows_equal_duckdb_count"] = len(results["B"]) == len(duck_rows)
out["duckdb_rows"] = len(duck_rows)
print(json.dumps(out, default=str))
(work / "ab.json").write_text(json.dumps(out, default=str))
spark.stop()
