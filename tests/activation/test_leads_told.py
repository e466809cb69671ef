"""Lead routing's SLA starts when an owner was really told (docs/activation.md, "Lead routing and
recycling"): every activation writes the leads each chat robot told (its first alert acknowledged) to
the lake (``activation_told``), and the real dbt builds ``int_leads_told`` from it, which
``lead_assignments`` reads (its unit tests cover the recycling). Real ``activate()`` against the fake
DingTalk and WeCom robots (and HubSpot) over HTTP, a real ledger, real dbt on a real DuckDB file."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
from intent_pipeline.activation import Safety, activate
from intent_pipeline.activation.history import TOLD, history_dir
from intent_pipeline.activation.ledger import Ledger

from tests.activation.chat_vendors import VENDORS, FakeTime
from tests.activation.conftest import activate_day, make_rows, write_segment
from tests.dbt.conftest import run_dbt
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"
DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)
REJECTED = 40035  # WeCom's "invalid message" errcode: the alert is refused, not retried


def told(settings) -> list[tuple[str, str, str]]:
    """``(robot, person id, told interval)`` of the lake's ``activation_told``, sorted."""
    path = history_dir(settings.lake_dir) / TOLD / "current" / "part.parquet"
    rows = duckdb.sql(f"select destination, record_key, told_interval from read_parquet('{path}')").fetchall()
    return sorted((robot.split("@")[0], key, str(day)) for robot, key, day in rows)


def test_only_a_robot_that_delivered_the_first_alert_told_the_owner(settings, tmp_path):
    # mutation: told_leads keeping every ledger status (not only acknowledged) lists WeCom's refused alert
    rows = make_rows(4, hot_every=2)  # p00000 and p00002 became hot; p00001 and p00003 were hot before
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with VENDORS["wecom"].server(FakeTime()) as wecom, FakeDingTalk() as dingtalk:
        more = ((VENDORS["wecom"].destination, VENDORS["wecom"].config(wecom)),)

        def run(day: date, run_id: str, safety: Safety) -> dict:
            end = datetime(day.year, day.month, day.day) + timedelta(days=1)
            return activate(settings, day, end, run_id, hubspot=None, dingtalk=VENDORS["dingtalk"].config(dingtalk),
                            sleep=lambda s: None, safety=safety, more=more)  # fmt: skip

        # a dry run tells nobody and writes no history
        run(DAY1, "dry__day1", Safety(dry_run=True))
        assert not (history_dir(settings.lake_dir) / TOLD).exists()
        # day 1: DingTalk delivers both alerts; WeCom refuses one
        wecom.enqueue(REJECTED)
        first = run(DAY1, "scheduled__day1", Safety(dead_letter_after=2))
        assert first["dingtalk"]["sent_ok"] == 2 and first["wecom"]["rejected"] == 1, first
        refused = {"p00000", "p00002"} - told_keys(settings, "wecom")
        assert len(refused) == 1, told(settings)
        # day 2: WeCom refuses it again: a dead letter, and still nobody there told
        wecom.enqueue(REJECTED)
        run(DAY2, "scheduled__day2", Safety(dead_letter_after=2))
    with Ledger(settings.ledger_path) as ledger:
        dead = ledger.db.execute("select destination, record_key from activation_dead_letter").fetchall()
    assert [(robot.split("@")[0], key) for robot, key in dead] == [("wecom", *refused)]
    (lost,) = refused
    (delivered,) = {"p00000", "p00002"} - refused
    assert told(settings) == [
        ("dingtalk", "p00000", "2026-11-20"), ("dingtalk", "p00002", "2026-11-20"), ("wecom", delivered, "2026-11-20"),
    ]  # fmt: skip

    # the real dbt reads it: the end of the interval whose run first told the lead, and by how many robots
    done = run_dbt(tmp_path / "dbt", settings.lake_dir, "build", "--select", "int_leads_told")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    con = duckdb.connect(str(tmp_path / "dbt" / "warehouse.duckdb"), read_only=True)
    try:
        built = con.execute("select person_id, told_at, robots_told from intermediate.int_leads_told").fetchall()
    finally:
        con.close()
    assert sorted(built) == sorted([(delivered, datetime(2026, 11, 21), 2), (lost, datetime(2026, 11, 21), 1)])


def told_keys(settings, robot: str) -> set[str]:
    return {key for name, key, _ in told(settings) if name == robot}


def test_an_outbox_tells_nobody(settings):
    # mutation: told_leads taking the robot from `dingtalk:outbox` too (split on ":") lists the outbox's alerts
    rows = make_rows(3, hot_every=1)
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    report = activate(settings, DAY1, datetime(2026, 11, 21), "scheduled__day1", hubspot=None, dingtalk=None)
    assert report["dingtalk"]["mode"] == "outbox" and report["dingtalk"]["sent_ok"] == 3, report
    assert told(settings) == []
    # a robot configured the next day announces what crossed then: told on that run's interval
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        activate_day(settings, hubspot, dingtalk, DAY2, "scheduled__day2", TOKEN)
    assert told(settings) == [("dingtalk", row["person_id"], "2026-11-21") for row in rows]


def test_an_erasure_leaves_no_trace_of_the_person_among_the_leads_told(settings):
    # mutation: erase.scrub_history skipping the activation_told folder leaves the erased id in the lake
    from intent_pipeline.activation.history import export_history
    from intent_pipeline.privacy.erase import scrub_history, scrub_ledger

    rows = make_rows(2, hot_every=1)
    write_segment(settings.warehouse, rows)
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        activate_day(settings, hubspot, dingtalk, DAY1, "scheduled__day1", TOKEN)
    assert told_keys(settings, "dingtalk") == {"p00000", "p00001"}
    scrub_ledger(settings.ledger_path, {"p00000"}, None)
    assert scrub_history(settings, {"p00000"}, None, True) >= 1
    path = history_dir(settings.lake_dir) / TOLD / "current" / "part.parquet"
    keys = {key for (key,) in duckdb.sql(f"select record_key from read_parquet('{path}')").fetchall()}
    assert "p00001" in keys and "p00000" not in keys
    # and the next export, from the scrubbed ledger, holds the others only
    export_history(settings.ledger_path, settings.lake_dir, [DAY1])
    assert told_keys(settings, "dingtalk") == {"p00001"}
