"""The raw lake: schemas, partition layout, atomic replacement, empty partitions, manifests."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest
from intent_pipeline import lake

DAY = date(2026, 11, 21)
META = ["_source_file", "_row_number", "_loaded_at", "_batch_id", "_interval_start"]


def order_row(order_id: str, amount: float | None = 1.0) -> dict:
    return {
        "order_id": order_id,
        "lead_id": "00Q001",
        "email": "a@example.com",
        "currency": "CNY",
        "amount": amount,
        "ordered_at": datetime(2026, 11, 21, 2, 30),
        "_source_file": "crm/dt=2026-11-21/orders.csv",
        "_row_number": 1,
        "_loaded_at": datetime(2026, 11, 22),
        "_batch_id": "b1",
        "_interval_start": DAY,
    }


def test_schemas_carry_metadata_extra_and_contract_types():
    import pyarrow as pa

    assert set(lake.SCHEMAS) == {t for tables in lake.SOURCE_TABLES.values() for t in tables}
    for table, schema in lake.SCHEMAS.items():
        assert schema.names[-6:] == ["extra", *META], table
        assert schema.field("_row_number").type == pa.int64()
        assert schema.field("_loaded_at").type == pa.timestamp("us")  # naive: no time zone
        assert schema.field("_interval_start").type == pa.date32()
        for name in schema.names:
            if name.endswith("_at"):
                assert schema.field(name).type == pa.timestamp("us"), (table, name)
    assert lake.SCHEMAS["web_events"].field("ga_session_id").type == pa.int64()
    assert lake.SCHEMAS["crm_opportunities"].field("is_won").type == pa.bool_()
    assert lake.SCHEMAS["crm_orders"].field("amount").type == pa.float64()
    assert lake.SOURCE_TABLES["crm"] == ("crm_leads", "crm_opportunities", "crm_orders", "crm_activities")
    assert lake.SCHEMAS["crm_activities"].names[:6] == [
        "activity_id", "lead_id", "activity_type", "subject", "owner", "activity_at"
    ]  # fmt: skip
    assert lake.QUARANTINE_SCHEMA.names == [*META, "reason", "raw_content"]


def test_importing_lake_and_sources_does_not_import_pyarrow():
    code = (
        "import sys, intent_pipeline.lake, intent_pipeline.sources; "
        "heavy = [m for m in ('pyarrow', 'pandas', 'duckdb', 'fsspec', 'openpyxl') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(lake.Path(lake.__file__).parents[1])})  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_layout_and_glob(tmp_path):
    assert lake.partition_path(tmp_path, "raw", "crm_orders", DAY) == (
        tmp_path / "raw" / "crm_orders" / "dt=2026-11-21" / "part-0.parquet"
    )
    assert lake.partition_path(tmp_path, "quarantine", "web_events", datetime(2026, 11, 21, 0, 0)) == (
        tmp_path / "quarantine" / "web_events" / "dt=2026-11-21" / "part-0.parquet"
    )
    assert lake.raw_glob(tmp_path, "email_events") == str(tmp_path / "raw" / "email_events" / "dt=*" / "*.parquet")
    assert lake.manifest_path(tmp_path, "crm", DAY) == tmp_path / "manifests" / "crm" / "dt=2026-11-21.json"
    with pytest.raises(ValueError, match="unknown raw table"):
        lake.partition_path(tmp_path, "raw", "orders", DAY)
    with pytest.raises(ValueError, match="zone"):
        lake.partition_path(tmp_path, "staging", "crm_orders", DAY)


def test_write_read_replace_and_empty(tmp_path):
    import duckdb

    path = lake.write_partition(tmp_path, "raw", "crm_orders", DAY, [order_row("801"), order_row("802", None)])
    assert path == lake.partition_path(tmp_path, "raw", "crm_orders", DAY)
    table = lake.read_partition(tmp_path, "raw", "crm_orders", DAY)
    assert table.schema == lake.SCHEMAS["crm_orders"]
    assert table.column("order_id").to_pylist() == ["801", "802"]
    assert table.column("amount").to_pylist() == [1.0, None]
    assert table.column("extra").null_count == 2  # missing columns are nulls

    lake.write_partition(tmp_path, "raw", "crm_orders", DAY, [order_row("803")])  # replaces, never appends
    assert lake.read_partition(tmp_path, "raw", "crm_orders", DAY).column("order_id").to_pylist() == ["803"]

    lake.write_partition(tmp_path, "raw", "crm_orders", date(2026, 11, 22), [])
    empty = lake.read_partition(tmp_path, "raw", "crm_orders", date(2026, 11, 22))
    assert empty.num_rows == 0 and empty.schema == lake.SCHEMAS["crm_orders"]
    # DuckDB reads both intervals through the glob, with the contract's types.
    glob = lake.raw_glob(tmp_path, "crm_orders")
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(1,)]
    types = {r[0]: r[1] for r in duckdb.sql(f"describe select * from read_parquet('{glob}')").fetchall()}
    assert types["ordered_at"] == "TIMESTAMP" and types["_interval_start"] == "DATE" and types["amount"] == "DOUBLE"
    assert sorted(p.name for p in (tmp_path / "raw" / "crm_orders").iterdir()) == ["dt=2026-11-21", "dt=2026-11-22"]


def test_activities_partition_round_trip_and_empty_interval(tmp_path):
    import duckdb

    row = {
        "activity_id": "00T001",
        "lead_id": "00Q001",
        "activity_type": "Call",
        "subject": "首次电话沟通",
        "owner": "李娜",
        "activity_at": datetime(2026, 11, 21, 2, 0),
        "_source_file": "crm/dt=2026-11-21/activities.csv",
        "_row_number": 1,
        "_loaded_at": datetime(2026, 11, 22),
        "_batch_id": "b1",
        "_interval_start": DAY,
    }
    lake.write_partition(tmp_path, "raw", "crm_activities", DAY, [row])
    # a row without the optional outcome (exports before it) reads it as null
    assert lake.read_partition(tmp_path, "raw", "crm_activities", DAY).to_pylist() == [
        {**row, "outcome": None, "extra": None}
    ]
    # An export without the activity report still gives the interval a file with the full schema.
    lake.write_partition(tmp_path, "raw", "crm_activities", date(2026, 11, 22), [])
    glob = lake.raw_glob(tmp_path, "crm_activities")
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(1,)]
    types = {r[0]: r[1] for r in duckdb.sql(f"describe select * from read_parquet('{glob}')").fetchall()}
    assert types["activity_at"] == "TIMESTAMP" and types["activity_type"] == "VARCHAR"


def test_pandas_frames_and_unknown_columns(tmp_path):
    import pandas as pd

    frame = pd.DataFrame([{**order_row("804"), "reason": None}]).drop(columns=["reason"])
    lake.write_partition(tmp_path, "raw", "crm_orders", DAY, frame)
    assert lake.read_partition(tmp_path, "raw", "crm_orders", DAY).column("order_id").to_pylist() == ["804"]
    with pytest.raises(ValueError, match="unknown columns"):
        lake.write_partition(tmp_path, "raw", "crm_orders", DAY, [{**order_row("805"), "discount": 3}])
    # The failed write left the previous partition in place.
    assert lake.read_partition(tmp_path, "raw", "crm_orders", DAY).column("order_id").to_pylist() == ["804"]


def test_failed_writer_leaves_previous_partition(tmp_path):
    lake.write_partition(tmp_path, "raw", "crm_orders", DAY, [order_row("801")])
    with pytest.raises(RuntimeError, match="boom"):
        with lake.PartitionWriter(tmp_path, "raw", "crm_orders", DAY) as writer:
            writer.write(lake.to_arrow("raw", "crm_orders", [order_row("999")]))
            raise RuntimeError("boom")
    assert lake.read_partition(tmp_path, "raw", "crm_orders", DAY).column("order_id").to_pylist() == ["801"]
    assert [p.name for p in (tmp_path / "raw" / "crm_orders").iterdir()] == ["dt=2026-11-21"]


def test_quarantine_partition_and_manifest_round_trip(tmp_path):
    row = {"_source_file": "web/dt=2026-11-21/a.jsonl", "_row_number": 3, "_loaded_at": datetime(2026, 11, 22),
           "_batch_id": "b1", "_interval_start": DAY, "reason": "malformed JSON line", "raw_content": "{"}  # fmt: skip
    lake.write_partition(tmp_path, "quarantine", "web_events", DAY, [row])
    assert lake.read_partition(tmp_path, "quarantine", "web_events", DAY).to_pylist() == [row]

    with pytest.raises(FileNotFoundError):
        lake.read_manifest(tmp_path, "web", DAY)
    with pytest.raises(FileNotFoundError):
        lake.read_partition(tmp_path, "raw", "web_events", DAY)
    manifest = {"source": "web", "tables": {"web_events": {"read": 1, "loaded": 0, "quarantined": 1}}}
    lake.write_manifest(tmp_path, "web", DAY, manifest)
    assert lake.read_manifest(tmp_path, "web", DAY) == manifest


def test_a_damaged_partition_names_its_file_and_table(tmp_path):
    from intent_pipeline.lake import CorruptPartition

    path = lake.write_partition(tmp_path, "raw", "crm_orders", date(2026, 11, 21), [])
    path.write_bytes(path.read_bytes()[:30])  # half-copied

    with pytest.raises(CorruptPartition, match=r"raw partition of crm_orders at .*part-0\.parquet cannot be read"):
        lake.read_partition(tmp_path, "raw", "crm_orders", date(2026, 11, 21))
