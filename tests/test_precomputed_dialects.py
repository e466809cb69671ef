"""The precomputed route's SQL per engine (intent_pipeline.precomputed: Dialect, sql_type, fingerprint_sql):
one mapping of Arrow types and one fingerprint query, with Postgres's and Spark's names, checked on the
real engines against what dbt's macro precomputed_fingerprint computes there (docs/portability.md)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from intent_pipeline.precomputed import POSTGRES, SPARK, sql_type
from intent_pipeline.settings import DBT_PROJECT_DIR

from tests.postgres_server import database_fixture, postgres_server_fixture  # noqa: F401  (fixture server)

# the attribution output's columns as the model returns them (attribution_touch_credits.py): texts, times
# and floats; with no row, pandas leaves the text and time columns as objects and Arrow types them null
CREDITS = {
    "conversion_id": ["c1", "c1", "c2"],
    "person_id": ["p1", "p1", "p'2"],
    "converted_at": [datetime(2026, 11, 21, 13, 38, 42, 40751)] * 3,
    "attribution_model": ["last_touch", "shapley", "markov"],
    "touch_id": ["t1", "t2", None],
    "touched_at": [datetime(2026, 11, 20, 1), datetime(2026, 11, 20, 2), None],
    "channel": ["Email", "Paid Search", "Direct"],
    "campaign": [None, "spring|sale", 'say "hi"'],
    "credit": [1.0, 0.25, 1 / 3],
    "credited_value": [120.5, 30.125, None],
    "removal_effect": [None, 0.5, 0.1],
    "shapley_value": [0.0, -0.0, 2.5e-12],
}
EXPECTED = {
    "postgres": {"text": "text", "timestamp": "timestamp", "double": "double precision"},
    "spark": {"text": "string", "timestamp": "timestamp", "double": "double"},
}
KINDS = {"converted_at": "timestamp", "touched_at": "timestamp", "credit": "double", "credited_value": "double",
         "removal_effect": "double", "shapley_value": "double"}  # fmt: skip


def credits_table(rows: bool = True):
    """The output as run_precomputed hands it to an engine (pa.Table.from_pandas of the model's frame)."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame(CREDITS)
    return pa.Table.from_pandas(frame if rows else frame.iloc[0:0].astype(object), preserve_index=False)


def macro_fingerprint_sql(macro: str, relation: str) -> str:
    """The SQL of ``macro`` (default__ or spark__precomputed_fingerprint in macros/precomputed.sql)."""
    text = (DBT_PROJECT_DIR / "macros" / "precomputed.sql").read_text()
    body = re.search(r"{% macro " + macro + r"\(relation\) -%}(.*?){%- endmacro %}", text, re.S)
    assert body, macro
    return body.group(1).strip().replace("{{ relation }}", relation)


def test_every_arrow_type_of_the_staged_tables_has_each_engines_name():
    import pyarrow as pa

    table, empty = credits_table(), credits_table(rows=False)
    # the types the attribution tables carry: text (string or large_string, as pandas' version has it), a
    # time (its unit as pandas has it), double; null with no row
    assert all(pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in table.schema
               if f.name not in KINDS)  # fmt: skip
    assert all(pa.types.is_timestamp(f.type) or pa.types.is_float64(f.type) for f in table.schema if f.name in KINDS)
    assert {str(field.type) for field in empty.schema} == {"null"}
    for dialect, names in ((POSTGRES, EXPECTED["postgres"]), (SPARK, EXPECTED["spark"])):
        for field in table.schema:
            assert sql_type(field.type, dialect) == names[KINDS.get(field.name, "text")], field
        assert {sql_type(field.type, dialect) for field in empty.schema} == {names["text"]}
    # and the lake's (Postgres's load of the raw tables): every integer width as bigint, any time unit
    lake_types = {pa.bool_(): "boolean", pa.int32(): "bigint", pa.int64(): "bigint", pa.float32(): "double",
                  pa.date32(): "date", pa.timestamp("us"): "timestamp", pa.large_string(): "string"}  # fmt: skip
    assert {str(t): sql_type(t, SPARK) for t in lake_types} == {str(t): name for t, name in lake_types.items()}
    assert sql_type(pa.float32(), POSTGRES) == "double precision" and sql_type(pa.large_string(), POSTGRES) == "text"


@pytest.mark.slow
def test_postgres_stages_the_output_and_its_fingerprint_equals_the_macros(server):
    import psycopg2
    from intent_pipeline.postgres_load import _PostgresEngine

    con = psycopg2.connect(**server)
    try:
        with con, con.cursor() as cursor:
            engine = _PostgresEngine(cursor)
            for rows in (True, False):
                engine.write(credits_table(rows), "f", "s")
                cursor.execute(
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = 'raw' and table_name = 'attribution_touch_credits'"
                )
                types = dict(cursor.fetchall())
                want = {"text": "text", "timestamp": "timestamp without time zone", "double": "double precision"}
                assert types == {name: want[KINDS.get(name, "text")] for name in CREDITS} if rows else \
                    {name: "text" for name in CREDITS}  # fmt: skip
                relation = "raw.attribution_touch_credits"
                ours = engine.fingerprint(relation)
                cursor.execute(macro_fingerprint_sql("default__precomputed_fingerprint", relation))
                assert ours == cursor.fetchone()[0]
                assert ours.startswith("3:" if rows else "0:") and (len(ours) == 34 if rows else ours == "0:")
    finally:
        con.close()


@pytest.mark.slow
def test_spark_stages_the_output_and_its_fingerprint_equals_the_macros(tmp_path):
    from intent_pipeline.spark_build import SparkEngine
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    try:
        engine = SparkEngine(spark)
        relation = "raw.attribution_touch_credits"
        for rows in (True, False):
            engine.write(credits_table(rows), "f", "s")
            types = {field.name: field.dataType.simpleString() for field in spark.table(relation).schema}
            assert types == ({name: EXPECTED["spark"][KINDS.get(name, "text")] for name in CREDITS} if rows
                             else {name: "string" for name in CREDITS})  # fmt: skip
            ours = engine.fingerprint(relation)
            assert ours == spark.sql(macro_fingerprint_sql("spark__precomputed_fingerprint", relation)).collect()[0][0]
            assert ours.startswith("3:" if rows else "0:") and (len(ours) == 34 if rows else ours == "0:")
            if rows:  # the microseconds and the text's quotes arrive as written
                assert spark.sql(f"select max(converted_at), min(campaign) from {relation}").collect()[0][:] == (
                    datetime(2026, 11, 21, 13, 38, 42, 40751), 'say "hi"')  # fmt: skip
    finally:
        spark.stop()
