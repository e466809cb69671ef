"""A first crossing is announced once per chat destination, late rather than never (docs/activation.md,
"Chat alerts", "First crossings it did not see"): an alert held back as ``stale`` (a late delivery of an
older day) goes out on the next run of a newer day; a merge of ids none of which the destination knows
(announced, held back, failed, or seen hot) is announced; a merge with an announced or a seen-hot id is
not; a destination configured later gets no flood. Every chat vendor, over real HTTP to its fake;
the segment rows as ``read_segment`` returns them."""

from __future__ import annotations

import random
from datetime import date

import pytest
from intent_pipeline.activation import run_destination
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.settings import Settings

from tests.activation.chat_vendors import VENDORS, FakeTime
from tests.activation.conftest import make_rows

DAY1, DAY2, DAY3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)
NEW, REASSIGNED = "新的高意向线索", "超时未跟进"


def lead(i: int, *, hot_now: bool = False, **changes) -> dict:
    """Segment row ``p0000<i>`` (in the segment, hot), newly hot in the interval or not."""
    (row,) = [r for r in make_rows(i + 1) if r["person_id"] == f"p{i:05d}"]
    fresh = {"alert_round": 0, "recycled_in_interval": False, "recycled_from_owner": None, "merged_person_ids": None}
    return {**row, "in_segment": True, "became_hot_in_interval": hot_now, **fresh, **changes}


class Robot:
    """One vendor's fake robot and the runs of its destination against one ledger."""

    def __init__(self, tmp_path, name: str):
        self.vendor, self.time = VENDORS[name], FakeTime()
        self.settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})

    def __enter__(self) -> Robot:
        self.server = self.vendor.server(self.time).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)

    def run(self, day: date, run_id: str, rows: list[dict]) -> tuple[dict, list[str]]:
        """The run's report and the texts of the messages it posted."""
        before = len(self.server.messages)
        destination = self.vendor.destination(self.vendor.config(self.server), sleep=self.time.sleep,
                                              clock=self.time.clock, rng=random.Random(7))  # fmt: skip
        with Ledger(self.settings.ledger_path) as ledger:
            report = run_destination(destination, rows, ledger, run_id, day, self.settings.outbox_dir)
        return report, [self.vendor.text(m) for m in self.server.messages[before:]]


def named(texts: list[str], i: int) -> bool:
    """A message names lead ``i`` by its score (``make_rows``: 60 + i, unique among these leads)."""
    return any(f"意向分{60 + i}" in text for text in texts)


@pytest.fixture(params=sorted(VENDORS))
def robot(request, tmp_path):
    with Robot(tmp_path, request.param) as robot:
        yield robot


def test_a_crossing_held_back_as_stale_is_announced_once_on_the_next_newer_run(robot):
    # mutation: without Ledger.hold_back in activation._remember, day 3 sends nothing (Bo never announced)
    first, texts = robot.run(DAY2, "scheduled__day2", [lead(0, hot_now=True)])
    assert first["sent_ok"] == 1 and len(texts) == 1
    # a late delivery for day 1: lead 1 crossed on day 1; the older day's run sends nothing
    late, texts = robot.run(DAY1, "backfill__day1", [lead(0), lead(1, hot_now=True)])
    assert texts == [] and late["stale"] == 1 and late["sent_ok"] == 0
    # day 3: lead 1 is hot, not newly: announced now, as a new lead (lead routing recycled it meanwhile)
    recycled = lead(1, alert_round=1, recycled_in_interval=True, recycled_from_owner="李娜", owner="王经理")
    third, texts = robot.run(DAY3, "scheduled__day3", [lead(0), recycled])
    assert third["sent_ok"] == 1 and len(texts) == 1 and named(texts, 1), (third, texts)
    assert NEW in texts[0] and REASSIGNED not in texts[0] and "王经理" in texts[0], texts[0]
    # and never again: the re-run (no reassignment for the recycling computed before it was told), the next day
    again, texts = robot.run(DAY3, "scheduled__day3", [lead(0), recycled])
    assert texts == [] and again["sent_ok"] == 0
    later, texts = robot.run(date(2026, 11, 13), "scheduled__day4", [lead(0), lead(1)])
    assert texts == [] and later["sent_ok"] == 0


def test_a_merge_of_two_ids_below_the_line_is_announced_once(robot):
    # mutation: without the unseen_merge clause in AlertOnce.candidates, day 2 sends nothing
    robot.run(DAY1, "scheduled__day1", [lead(0, hot_now=True)])
    # ids 7 and 9 were below the line (not in the segment); merged on day 2 into 7, now hot, not "newly"
    merged = lead(7, merged_person_ids="p00009")
    second, texts = robot.run(DAY2, "scheduled__day2", [lead(0), merged])
    assert second["sent_ok"] == 1 and len(texts) == 1 and NEW in texts[0], (second, texts)
    assert named(texts, 7)
    third, texts = robot.run(DAY3, "scheduled__day3", [lead(0), merged])
    assert texts == [] and third["sent_ok"] == 0


def test_a_merge_with_an_announced_or_a_seen_hot_id_announces_nothing(robot):
    # mutation: unseen_merge ignoring what the ledger knows (`known` empty) announces both merges below
    robot.run(DAY1, "scheduled__day1", [lead(0, hot_now=True), lead(3)])  # 0 announced; 3 hot, not newly: seen
    with Ledger(robot.settings.ledger_path) as ledger:
        assert {key for (key,) in ledger.db.execute("select record_key from activation_seen")} == {"p00003"}
    # the announced id merged into an unannounced one (the survivor), and the seen one into another
    second, texts = robot.run(DAY2, "scheduled__day2", [lead(5, merged_person_ids="p00000"),
                                                         lead(6, merged_person_ids="p00003")])  # fmt: skip
    assert texts == [] and second["sent_ok"] == 0, texts


def test_a_destination_configured_later_gets_no_flood_of_merged_or_hot_leads(robot):
    # mutation: AlertOnce.ran_before always True: its first run announces the two merged people too
    rows = [lead(0), lead(1, merged_person_ids="p00011"), lead(2, merged_person_ids="p00012"), lead(4, hot_now=True)]
    first, texts = robot.run(DAY2, "scheduled__day2", rows)
    assert first["sent_ok"] == 1 and len(texts) == 1 and named(texts, 4), texts
    # its next run: the merged people it saw hot on its first run are no new crossing either
    second, texts = robot.run(DAY3, "scheduled__day3", [*rows[:3], lead(4)])
    assert texts == [] and second["sent_ok"] == 0


def test_an_erasure_removes_what_a_destination_saw(tmp_path):
    # mutation: erase.scrub_ledger without activation_seen leaves the erased person's id in the ledger file
    from intent_pipeline.privacy.erase import scrub_ledger

    # mutation: activation_seen counted as ledger_rows again: the report names the wrong table
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.see("dingtalk@x", "run-1", ["p00001", "p00002"])
        ledger.record("dingtalk@x", "run-1", [("p00001", "h1", "acknowledged", None)])
    counts = scrub_ledger(path, {"p00001"}, None)
    with Ledger(path) as ledger:
        assert ledger.seen("dingtalk@x") == {"p00002"} and "p00001" not in ledger.entries("dingtalk@x")
    # each table's rows under its own name (docs/privacy.md, step 5)
    assert counts == {"ledger_rows": 1, "seen_rows": 1, "in_flight_rows": 0, "row_log_rows": 0}


def test_what_the_ledger_knows_reaches_planning_as_an_argument():
    """``run_destination`` gives a chat destination its history (``segments.History``: the interval,
    whether it ran before, the leads it saw hot) as an argument of ``candidates`` and ``remember``,
    never as attributes set on the destination object."""
    from intent_pipeline.activation.dingtalk import DingTalkDestination
    from intent_pipeline.activation.segments import History

    destination, merged, hot = DingTalkDestination(None), lead(1, merged_person_ids="p00011"), lead(3)
    assert destination.candidates([merged], {}, History("2026-11-11", ran_before=False)) == []
    assert destination.candidates([merged], {}, History("2026-11-11", ran_before=True)) == [merged]
    knew = History("2026-11-11", ran_before=True, seen=frozenset({"p00011"}))
    assert destination.candidates([merged], {}, knew) == []  # a merge with a lead it saw hot: no crossing
    assert destination.remember([hot], {}, History("2026-11-11")) == ["p00003"]
    assert destination.remember([hot], {}, History("2026-11-11", seen=frozenset({"p00003"}))) == []
    assert not {"ran_before", "seen", "interval"} & set(vars(destination))
