"""The load step of the postgres target (intent_pipeline.postgres_load) on a real PostgreSQL server.

The server is the OS package's, the test run's (tests/postgres_server.py; this file has its own
database there). What is checked: a load copies
an interval's partition once, a re-load replaces it (never adds), a partition that disappeared
leaves no rows, other intervals are untouched, and a partition holding a row of another interval
is refused with the table as it was.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.dbt.conftest import write_partition
from tests.postgres_server import database_fixture, postgres_server_fixture  # noqa: F401  (fixture server)

DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)


def _lead(lead_id: str, day: date) -> dict:
    return {"lead_id": lead_id, "email": f"{lead_id}@example.com", "company": "", "created_at": datetime(2026, 11, 1)}


def _counts(server) -> dict:
    import psycopg2

    con = psycopg2.connect(**server)
    try:
        with con.cursor() as cursor:
            cursor.execute("select _interval_start, count(*) from raw.crm_leads group by 1")
            return {day: n for day, n in cursor.fetchall()}
    finally:
        con.close()


def test_a_reload_replaces_the_interval_and_a_vanished_partition_leaves_nothing(server, tmp_path):
    from intent_pipeline.postgres_load import load_interval

    lake = tmp_path / "lake"
    write_partition(lake, "crm_leads", DAY1, [_lead("a", DAY1), _lead("b", DAY1)])
    write_partition(lake, "crm_leads", DAY2, [_lead("c", DAY2), _lead("d", DAY2), _lead("e", DAY2)])
    assert load_interval(lake, DAY1, server, tables=["crm_leads"]) == {"crm_leads": 2}
    assert load_interval(lake, DAY2, server, tables=["crm_leads"]) == {"crm_leads": 3}
    assert load_interval(lake, DAY2, server, tables=["crm_leads"]) == {"crm_leads": 3}
    assert _counts(server) == {DAY1: 2, DAY2: 3}

    write_partition(lake, "crm_leads", DAY2, [_lead("c", DAY2)])  # the extract re-ran the day
    load_interval(lake, DAY2, server, tables=["crm_leads"])
    assert _counts(server) == {DAY1: 2, DAY2: 1}

    for path in (lake / "raw" / "crm_leads" / f"dt={DAY2}").iterdir():
        path.unlink()
    assert load_interval(lake, DAY2, server, tables=["crm_leads"]) == {"crm_leads": 0}
    assert _counts(server) == {DAY1: 2}


def test_empty_strings_and_nulls_survive_the_copy(server, tmp_path):
    import psycopg2
    from intent_pipeline.postgres_load import load_interval

    lake = tmp_path / "lake"
    write_partition(lake, "crm_leads", DAY1, [_lead("x", DAY1), {**_lead("y", DAY1), "company": None}])
    load_interval(lake, DAY1, server, tables=["crm_leads"])
    con = psycopg2.connect(**server)
    try:
        with con.cursor() as cursor:
            cursor.execute("select lead_id, company, phone from raw.crm_leads where _interval_start = %s order by 1",
                           (DAY1,))  # fmt: skip
            assert cursor.fetchall() == [("x", "", None), ("y", None, None)]
    finally:
        con.close()


def test_a_row_of_another_interval_is_refused_and_the_table_kept(server, tmp_path):
    import pyarrow.parquet as pq
    from intent_pipeline.postgres_load import LoadError, load_interval

    lake = tmp_path / "lake"
    write_partition(lake, "crm_leads", DAY1, [_lead("p", DAY1)])
    load_interval(lake, DAY1, server, tables=["crm_leads"])
    before = _counts(server)
    path = write_partition(lake, "crm_leads", DAY1, [_lead("q", DAY1), _lead("r", DAY1)])
    table = pq.read_table(path)
    days = table.column("_interval_start").to_pylist()
    days[1] = DAY2
    import pyarrow as pa

    index = table.schema.get_field_index("_interval_start")
    pq.write_table(table.set_column(index, "_interval_start", pa.array(days, pa.date32())), path)
    with pytest.raises(LoadError, match="rows of other intervals"):
        load_interval(lake, DAY1, server, tables=["crm_leads"])
    assert _counts(server) == before


def test_every_call_closes_the_connection_it_opened(server, tmp_path, monkeypatch):
    """psycopg2's ``with con`` ends a transaction, not the connection: each call closes its own
    (postgres_load.connected), after a failed load too. The real connections, only recorded."""
    import psycopg2
    import pyarrow
    from intent_pipeline import postgres_load

    opened: list = []
    real_connect = psycopg2.connect

    def recording_connect(*args, **kwargs):
        opened.append(real_connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(psycopg2, "connect", recording_connect)
    lake = tmp_path / "lake"
    path = write_partition(lake, "crm_leads", DAY1, [_lead("s", DAY1)])
    postgres_load.load_interval(lake, DAY1, server, tables=["crm_leads"])
    assert postgres_load.snapshot_taken("run-none", server) is None
    postgres_load.published_postgres(server)
    path.write_bytes(path.read_bytes()[:20])  # a torn file: the load fails inside its transaction
    with pytest.raises(pyarrow.ArrowInvalid):
        postgres_load.load_interval(lake, DAY1, server, tables=["crm_leads"])
    assert len(opened) == 4
    assert [con.closed for con in opened] == [1, 1, 1, 1]
