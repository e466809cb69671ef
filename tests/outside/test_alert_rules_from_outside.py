"""Two rules the incremental days broke, checked fast on every robot (test_first_crossing_across_days.py
found them through real extract, dbt and activation; docs/activation.md, "Outside checks").

* **A reassignment only where the lead was announced.** A lead that crossed on a day delivered late
  (its day's run held back as ``stale``, docs "Time moves forward") was routed and marked ``alerted``
  in ``lead_assignments``, recycled a day later, and every robot got «线索超时未跟进，已转交» about a
  lead nobody had been told of. Now a reassignment goes out only where the lead's first alert did.
* **A long value is cut, not the message.** A 10,000-character company went into the message whole:
  DingTalk got 20,781 characters, and WeCom's 4,096-byte cut (and Slack's 3,000-character section)
  fell inside the company, so the score, the owner's mention and «请立即跟进» were lost.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from intent_pipeline.activation import run_destination
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.segments import read_segment
from intent_pipeline.settings import Settings

from tests.activation.chat_vendors import VENDORS, FakeTime
from tests.activation.conftest import INTERVAL_START, make_rows, write_segment


def run(settings: Settings, vendor, server, fake_time: FakeTime, run_id: str, rows: list[dict],
        day: date = INTERVAL_START) -> dict:  # fmt: skip
    destination = vendor.destination(vendor.config(server), sleep=fake_time.sleep, clock=fake_time.clock,
                                     rng=random.Random(7))  # fmt: skip
    with Ledger(settings.ledger_path) as ledger:
        return run_destination(destination, rows, ledger, run_id, day, settings.outbox_dir)


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_a_lead_never_announced_here_is_not_reassigned_here(tmp_path, name):
    vendor, fake_time = VENDORS[name], FakeTime()
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    write_segment(settings.warehouse, make_rows(3, hot_every=1))
    rows = read_segment(settings.warehouse)
    for row in rows:
        row.update(alert_round=0, recycled_in_interval=False, recycled_from_owner=None)
    told, untold = rows[0], rows[1]
    with vendor.server(fake_time) as server:
        # the first run announces only the told lead (the other's day was held back, say)
        first = run(settings, vendor, server, fake_time, "run-1", [told])
        assert first["sent_ok"] == 1 and len(server.messages) == 1
        # a day later both are recycled: only the lead announced here is reassigned here
        for row in (told, untold):
            row.update(became_hot_in_interval=False, alert_round=1, recycled_in_interval=True,
                       recycled_from_owner="王经理", owner="李娜")  # fmt: skip
        # (the other, unknown here, gets its first alert: a lead this robot could not alert before)
        second = run(settings, vendor, server, fake_time, "run-2", [told, untold], INTERVAL_START + timedelta(days=1))
        assert second["sent_ok"] == 2 and len(server.messages) == 3, second
        texts = [vendor.text(message) for message in server.messages[1:]]
        reassigned = [text for text in texts if "线索超时未跟进" in text]
        assert len(reassigned) == 1 and told["company"] in reassigned[0] and untold["company"] not in reassigned[0]
        (first,) = [text for text in texts if text not in reassigned]
        assert "新的高意向线索" in first and untold["company"] in first, texts


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_a_10000_character_company_is_cut_and_the_message_keeps_its_score_and_call(tmp_path, name):
    vendor, fake_time = VENDORS[name], FakeTime()
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    company = "<!channel> 长" + "长" * 10_000
    (row,) = make_rows(1, hot_every=1)
    write_segment(settings.warehouse, [{**row, "company": company, "lead_score": 77}])
    with vendor.server(fake_time) as server:
        report = run(settings, vendor, server, fake_time, "run-1", read_segment(settings.warehouse))
        text = vendor.text(server.messages[0])
    assert report["sent_ok"] == 1
    assert "长" * 150 in text and "长" * 300 not in text and "…" in text
    assert "意向分77" in text and "请立即跟进" in text and "<!channel>" not in text
