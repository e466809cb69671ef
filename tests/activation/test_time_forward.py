"""Time moves forward at a destination (issue 15 item 3): a run of an older interval rebuilds its
history but never sends the CRM a value older than the one it holds, and chat never announces from
an older interval what a newer one already announced. Real HTTP against the fakes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from intent_pipeline.activation import HubSpotConfig, Safety, ledger_name
from intent_pipeline.activation.ledger import Ledger

from tests.activation.conftest import activate_day, make_rows, write_segment
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.hubspot import FakeHubSpot

TOKEN = "pat-na1-test"
NEWER, OLDER = date(2026, 11, 21), date(2026, 11, 19)


def day_rows(day: date, n: int = 30) -> list[dict]:
    """The segment as built for ``day``: scores differ by day, every lead became hot that day."""
    rows = make_rows(n, hot_every=1)
    for row in rows:
        row["lead_score"] = 60 + day.day  # 81 on the 21st, 79 on the 19th
        row["scored_at"] = datetime(day.year, day.month, day.day) + timedelta(days=1)
    return rows


def run(settings, hubspot, dingtalk, day: date, run_id: str, safety: Safety | None = None) -> dict:
    return activate_day(settings, hubspot, dingtalk, day, run_id, TOKEN, safety)


def scores(hubspot) -> set:
    return {str(contact["intent_score"]) for contact in hubspot.contacts.values()}


def test_an_older_interval_after_a_newer_one_sends_nothing_to_the_crm_or_chat(settings):
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        write_segment(settings.warehouse, day_rows(NEWER))
        newer = run(settings, hubspot, dingtalk, NEWER, "scheduled__2026-11-21")
        assert newer["hubspot"]["sent_ok"] == 30 and newer["dingtalk"]["sent_ok"] == 30
        assert scores(hubspot) == {"81"}
        messages, requests = len(dingtalk.messages), len(hubspot.requests)

        # The older day is re-run (a backfill): its scores differ, and a person who was in its segment
        # only (left it by the 21st) would be created from the older day's data.
        older_rows = day_rows(OLDER, 31)
        older_rows[30].update(person_id="p-only-older", email="only-older@example.com")
        write_segment(settings.warehouse, older_rows)
        older = run(settings, hubspot, dingtalk, OLDER, "backfill__2026-11-19")

        assert len(hubspot.requests) == requests, "no request reached the CRM for the older day"
        assert scores(hubspot) == {"81"}, "the CRM holds the newer day's values"
        assert "only-older@example.com" not in hubspot.contacts
        assert len(dingtalk.messages) == messages, "chat announced nothing for the older day"
        assert older["hubspot"]["stale"] == 31 and older["hubspot"]["sent_ok"] == 0
        assert older["dingtalk"]["stale"] == 1 and older["dingtalk"]["sent_ok"] == 0  # the one lead not yet alerted
        with Ledger(settings.ledger_path) as ledger:
            key = ledger_name("hubspot", HubSpotConfig(base_url=hubspot.url, token=TOKEN))
            logged = ledger.row_log("backfill__2026-11-19", key)
            entries = ledger.entries(key)
        assert len(logged) == 31 and {row["outcome"] for row in logged} == {"stale"}
        held = [row for row in logged if row["record_key"] == "lead00000@example.com"][0]["reason"]
        assert "2026-11-21" in held and "2026-11-19" in held
        assert {entry.acknowledged_interval for entry in entries.values()} == {"2026-11-21"}

        # The newer day again: nothing changed at the CRM, nothing is sent.
        write_segment(settings.warehouse, day_rows(NEWER))
        again = run(settings, hubspot, dingtalk, NEWER, "manual__2026-11-21")
        assert again["hubspot"]["requests"] == 0 and again["hubspot"]["stale"] == 0
        assert len(dingtalk.messages) == messages


def test_forward_runs_and_a_rerun_of_the_same_day_still_send(settings):
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        write_segment(settings.warehouse, day_rows(OLDER))
        run(settings, hubspot, dingtalk, OLDER, "scheduled__2026-11-19")
        assert scores(hubspot) == {"79"}
        # the same day rebuilt with other values (a fix upstream): sent, it is not older
        rows = day_rows(OLDER)
        for row in rows:
            row["lead_score"] = 77
        write_segment(settings.warehouse, rows)
        same = run(settings, hubspot, dingtalk, OLDER, "manual__2026-11-19")
        assert same["hubspot"]["sent_ok"] == 30 and same["hubspot"]["stale"] == 0
        assert scores(hubspot) == {"77"}
        write_segment(settings.warehouse, day_rows(NEWER))
        newer = run(settings, hubspot, dingtalk, NEWER, "scheduled__2026-11-21")
        assert newer["hubspot"]["sent_ok"] == 30 and newer["hubspot"]["stale"] == 0
        assert scores(hubspot) == {"81"}


def test_a_dry_run_of_an_older_day_says_what_it_holds_back(settings):
    write_segment(settings.warehouse, [], "segment_crm_updates")
    with FakeHubSpot(token=TOKEN) as hubspot, FakeDingTalk() as dingtalk:
        write_segment(settings.warehouse, day_rows(NEWER))
        run(settings, hubspot, dingtalk, NEWER, "scheduled__2026-11-21")
        write_segment(settings.warehouse, day_rows(OLDER))
        dry = run(settings, hubspot, dingtalk, OLDER, "dry", safety=Safety(dry_run=True))
        assert dry["hubspot"]["stale"] == 30 and dry["hubspot"]["would_send"] == 0
        assert {d["action"] for d in dry["hubspot"]["decisions"]} == {"stale"}


def test_an_outbox_file_a_killed_run_wrote_keeps_that_runs_interval(tmp_path):
    """Settled after a kill, a written outbox file's rows belong to the interval of the run that wrote
    them, not to the run that found them (an older day's run must not lower what the CRM holds)."""
    from intent_pipeline.activation import settle_in_flight

    written = tmp_path / "batch-0001.json"
    written.write_text("{}")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.start_run("killed__21", "hubspot:outbox", NEWER)
        ledger.begin("hubspot:outbox", "killed__21", [("a@example.com", "h1")], f"outbox:{written}")
        ledger.begin("hubspot:outbox", "killed__21", [("b@example.com", "h2")], f"outbox:{tmp_path / 'never.json'}")
        assert settle_in_flight(ledger, "hubspot:outbox", "backfill__19", OLDER) == {
            "written": 1, "in_doubt": 0, "not_written": 1,
        }  # fmt: skip
        entries = ledger.entries("hubspot:outbox")
        assert entries["a@example.com"].acknowledged_interval == "2026-11-21"
        assert "b@example.com" not in entries
        assert ledger.newest_interval("hubspot:outbox", "backfill__19") == "2026-11-21"
