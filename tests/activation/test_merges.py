"""Chat alerts follow identity merges (``merged_person_ids`` of the segment): a failed alert of an id
merged away is retried under the person it became, and a person announced under a merged-away id is
not announced again. Every chat vendor, over real HTTP to its fake."""

from __future__ import annotations

import duckdb
from intent_pipeline.activation.segments import read_segment

from tests.activation.chat_vendors import Vendor
from tests.activation.conftest import Segment
from tests.activation.test_chat import ledger_entries, make_destination, only_hot, run


def merge(segment: Segment, gone: str, into: str, *, newly_hot: bool) -> None:
    """Identity resolution merged ``gone`` into ``into``: the segment holds ``into`` only, with the
    merged id in ``merged_person_ids`` (the column dbt adds; written here the way dbt writes it)."""
    survivor = next(row for row in segment.rows if row["person_id"] == into)
    survivor["became_hot_in_interval"] = newly_hot
    segment.rows = [row for row in segment.rows if row["person_id"] != gone]
    for row in segment.rows:
        if row is not survivor:
            row["became_hot_in_interval"] = False
    segment.save()
    con = duckdb.connect(str(segment.settings.warehouse))
    try:
        con.execute("alter table marts.segment_high_intent add column merged_person_ids varchar")
        con.execute("update marts.segment_high_intent set merged_person_ids = ? where person_id = ?", [gone, into])
    finally:
        con.close()


def test_the_segment_column_is_read(settings, segment):
    merge(segment, "p00000", "p00001", newly_hot=False)
    rows = {row["person_id"]: row for row in read_segment(settings.warehouse)}
    assert "p00000" not in rows
    assert rows["p00001"]["merged_person_ids"] == "p00000" and rows["p00002"]["merged_person_ids"] is None


def test_a_failed_alert_of_a_merged_away_id_is_sent_under_the_survivor(settings, segment, vendor: Vendor, fake_time):
    assert only_hot(segment, 1) == ["p00000"]
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        vendor.reject(server, "message rejected")
        first = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert first["rejected"] == 1 and first["sent_ok"] == 0
        # the next build merged p00000 into p00001, whose merged score was hot before: not newly hot
        merge(segment, "p00000", "p00001", newly_hot=False)
        second = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert second["planned"] == second["sent_ok"] == 1
        sent = len(server.messages)
        third = run(settings, make_destination(vendor, config, fake_time), "run-3")
        assert len(server.messages) == sent and third["planned"] == third["unchanged"] == 0
    entries = ledger_entries(settings, vendor, config)
    assert entries["p00001"].acknowledged and not entries["p00000"].acknowledged  # the old attempt, as it was


def test_a_person_announced_under_a_merged_away_id_is_not_announced_again(settings, segment, vendor, fake_time):
    assert only_hot(segment, 1) == ["p00000"]
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        first = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert first["sent_ok"] == 1 and len(server.messages) == 1
        # merged into p00001, whose merged history crossed 60 again in this interval: the same human
        merge(segment, "p00000", "p00001", newly_hot=True)
        second = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert len(server.messages) == 1, "a merged person was announced twice"
    assert second["planned"] == second["sent_ok"] == 0
    assert set(ledger_entries(settings, vendor, config)) == {"p00000"}


def test_without_a_merge_the_survivor_is_announced(settings, segment, vendor, fake_time):
    # control: the same segment change without the merged id alerts p00001 as newly hot
    assert only_hot(segment, 1) == ["p00000"]
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        run(settings, make_destination(vendor, config, fake_time), "run-1")
        merge(segment, "p00000", "p00001", newly_hot=True)
        con = duckdb.connect(str(settings.warehouse))
        con.execute("update marts.segment_high_intent set merged_person_ids = null")
        con.close()
        second = run(settings, make_destination(vendor, config, fake_time), "run-2")
    assert second["sent_ok"] == 1 and len(server.messages) == 2
