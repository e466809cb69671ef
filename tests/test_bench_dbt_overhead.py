"""bench/dbt_overhead.py's proof that a candidate dbt setting changes no result: every table of two
warehouses compared by row count and an order-free hash of its rows, the build's own bookkeeping
(schema ``build_state``, which holds each home's paths) left out, and the columns that differ named."""

from __future__ import annotations

import duckdb

from tests.benches import load_bench

bench = load_bench("dbt_overhead")


def _warehouse(path, score: float, extra_row: bool = False, home: str = "a"):
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts; create schema build_state")
        connection.execute("create table marts.people (person_id varchar, lead_score double, grade varchar)")
        connection.execute("insert into marts.people values ('p1', ?, 'hot'), ('p2', 10, null)", [score])
        if extra_row:
            connection.execute("insert into marts.people values ('p3', 5, 'cold')")
        connection.execute("create view marts.hot as select * from marts.people where grade = 'hot'")
        connection.execute("create table build_state.records as select ? as home", [home])
    return path


def test_equal_warehouses_compare_equal_in_any_row_order(tmp_path):
    one = _warehouse(tmp_path / "one.duckdb", 61.0, home="/one")
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as connection:  # the same rows inserted in another order
        connection.execute("create schema marts; create schema build_state")
        connection.execute("create table marts.people (person_id varchar, lead_score double, grade varchar)")
        connection.execute("insert into marts.people values ('p2', 10, null), ('p1', 61.0, 'hot')")
        connection.execute("create view marts.hot as select * from marts.people where grade = 'hot'")
        connection.execute("create table build_state.records as select '/other' as home")
    digests = bench.table_digests(one)
    assert set(digests) == {"marts.people", "marts.hot"}  # views too; the bookkeeping left out
    assert digests == bench.table_digests(other)


def test_a_changed_value_or_an_extra_row_is_found_and_its_column_named(tmp_path):
    one = _warehouse(tmp_path / "one.duckdb", 61.0)
    changed = _warehouse(tmp_path / "changed.duckdb", 61.000001)
    longer = _warehouse(tmp_path / "longer.duckdb", 61.0, extra_row=True)
    digests = bench.table_digests(one)
    assert {name for name, digest in bench.table_digests(changed).items() if digests[name] != digest} == {
        "marts.people", "marts.hot"}  # fmt: skip
    assert bench.differing_columns("marts.people", one, changed) == ["lead_score"]
    assert bench.table_digests(longer)["marts.people"][0] == 3
    assert bench.differing_columns("marts.people", one, longer) == ["grade", "lead_score", "person_id"]
