"""The run summary's warehouse figures, on a small hand-made warehouse."""

from __future__ import annotations

import duckdb
from intent_pipeline.report import _warehouse_figures


def test_warehouse_figures(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.people as select * from range(5) t(person_id)")
    con.execute("create table marts.lead_scores (grade varchar)")
    con.execute("insert into marts.lead_scores values ('high_intent'), ('nurture'), ('nurture')")
    con.execute("create table marts.segment_high_intent (became_hot_in_interval boolean)")
    con.execute("insert into marts.segment_high_intent values (true), (false), (true)")
    con.execute("create table marts.segment_funnel_stalls (became_stalled_in_interval boolean)")
    con.execute("insert into marts.segment_funnel_stalls values (false)")
    con.close()

    assert _warehouse_figures(path) == {
        "people": 5,
        "leads_by_grade": {"high_intent": 1, "nurture": 2},
        "segment_high_intent": 3,
        "newly_hot": 2,
        "funnel_stalls": 1,
        "newly_stalled": 0,
    }
    assert _warehouse_figures(tmp_path / "missing.duckdb") == {
        "error": f"no warehouse at {tmp_path / 'missing.duckdb'}"
    }
