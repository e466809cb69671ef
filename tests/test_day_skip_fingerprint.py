"""A source's fingerprint (intent_pipeline.day_skip.fingerprints) and files without a row.

The sources read their lake files with ``union_by_name``, so a file without a row still brings its
columns into every query over the source: an empty partition that adds a column (or gives one another
type) changes what staging reads, and the day skip must not leave staging out then. An empty partition
like the others (an extract's day without data) changes nothing, and must keep leaving staging out.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from intent_pipeline import day_skip

SOURCE = "source.intent_warehouse.forms.forms_submissions"
# as the project's source YAML writes it (models/staging/forms/_forms__sources.yml)
LOCATION = "read_parquet('$INTENT_LAKE_DIR/raw/{name}/dt=*/*.parquet', hive_partitioning = false, union_by_name = true)"
MANIFEST = {"sources": {SOURCE: {"name": "forms_submissions", "source_meta": {"external_location": LOCATION}}}}


def write(lake, day: str, table: pa.Table) -> None:
    folder = lake / "raw" / "forms_submissions" / f"dt={day}"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-0.parquet")


def fingerprint(tmp_path, lake) -> str:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return day_skip.fingerprints(project, MANIFEST, lake, {})[SOURCE]


def source_columns(lake) -> list[tuple[str, str]]:
    """The source's columns as dbt-duckdb reads it (the external location, on real DuckDB)."""
    sql = LOCATION.replace("$INTENT_LAKE_DIR", str(lake)).replace("{name}", "forms_submissions")
    with duckdb.connect() as con:
        return [(name, kind) for name, kind, *_ in con.execute(f"describe select * from {sql}").fetchall()]


def test_an_empty_partition_that_adds_a_column_changes_the_fingerprint(tmp_path):
    lake = tmp_path / "lake"
    write(lake, "2026-12-01", pa.table({"submission_id": ["s1"], "email": ["a@example.com"]}))
    first = fingerprint(tmp_path, lake)

    # a day without data, written like the others: no new column, the same fingerprint (the skip holds)
    write(
        lake, "2026-12-02", pa.table({"submission_id": pa.array([], pa.string()), "email": pa.array([], pa.string())})
    )
    assert fingerprint(tmp_path, lake) == first

    # an empty partition from an extract that now writes utm_content: the source has one more column
    before = source_columns(lake)
    write(
        lake,
        "2026-12-03",
        pa.table({name: pa.array([], pa.string()) for name in ("submission_id", "email", "utm_content")}),
    )
    assert source_columns(lake) == [*before, ("utm_content", "VARCHAR")]
    assert fingerprint(tmp_path, lake) != first


def test_an_empty_partition_that_changes_a_columns_type_changes_the_fingerprint(tmp_path):
    lake = tmp_path / "lake"
    write(lake, "2026-12-01", pa.table({"submission_id": ["s1"], "score": pa.array([3], pa.int64())}))
    first = fingerprint(tmp_path, lake)
    write(
        lake, "2026-12-02", pa.table({"submission_id": pa.array([], pa.string()), "score": pa.array([], pa.string())})
    )
    assert dict(source_columns(lake))["score"] == "VARCHAR"  # union_by_name widened it
    assert fingerprint(tmp_path, lake) != first
