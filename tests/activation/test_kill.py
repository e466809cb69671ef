"""A process killed with SIGKILL mid-run, then run again: no chat message posted twice, no outbox row
written twice, nothing lost (#14 item 7). The runs are real subprocesses running ``activate`` against
the local fakes; the kill is real: the fake robot withholds its answer to message 3 until the test has
killed the client, or the subprocess kills itself right after (or right before) an outbox file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from intent_pipeline.activation.ledger import IN_DOUBT, Ledger

from tests.activation.conftest import make_rows, write_segment
from tests.fakes.dingtalk import FakeDingTalk

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])}
GUARD = 120  # seconds: how long a test waits for its subprocess to reach the kill point (not a measurement)

# One activation run: HubSpot to the outbox, DingTalk to the fake robot (or its outbox without a URL).
# KILL_OUTBOX="<destination>:<n>:<after|before>" kills the process with SIGKILL at the n-th outbox file.
RUN = """
import os, signal, sys
from datetime import date, datetime
from intent_pipeline.activation import DingTalkConfig, activate
from intent_pipeline.activation.outbox import Outbox
from intent_pipeline.settings import Settings

kill = os.environ.get("KILL_OUTBOX")
if kill:
    destination, n, when = kill.split(":")
    original, written = Outbox.write, []

    def write(self, body, path=None):
        if self.folder.parent.name == destination:
            written.append(path)
            if len(written) == int(n) and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
        out = original(self, body, path)
        if self.folder.parent.name == destination and len(written) == int(n) and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    Outbox.write = write

url = os.environ.get("ROBOT_URL")
dingtalk = DingTalkConfig(url, access_token=os.environ["ROBOT_TOKEN"], secret=os.environ["ROBOT_SECRET"],
                          digest_over=100, max_per_minute=100, max_retries=0,
                          contact_details="full") if url else None  # full: each lead is told by its email
settings = Settings.from_env({"INTENT_HOME": os.environ["INTENT_HOME"]})
report = activate(settings, date(2026, 11, 21), datetime(2026, 11, 22), "run-1", hubspot=None, dingtalk=dingtalk,
                  sleep=lambda s: None)
print({name: (c["planned"], c["sent_ok"], c["unchanged"]) for name, c in report.items()})
"""


def run_env(home: Path, **extra: str) -> dict:
    return {**ENV, "INTENT_HOME": str(home), **extra}


def activation(home: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN], env=run_env(home, **extra), capture_output=True, text=True,
                          timeout=GUARD)  # fmt: skip


def test_killed_while_the_robot_holds_message_3_the_rerun_posts_no_message_twice(tmp_path):
    write_segment(tmp_path / "data" / "warehouse.duckdb", make_rows(31, hot_every=1))
    with FakeDingTalk(secret="SECkill") as robot:
        robot.hold(3)
        env = run_env(tmp_path, ROBOT_URL=robot.webhook_url, ROBOT_TOKEN=robot.access_token, ROBOT_SECRET="SECkill")
        child = subprocess.Popen([sys.executable, "-c", RUN], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert robot.holding.wait(GUARD), child.communicate()[1].decode()[-2000:]
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(GUARD)
            robot.release.set()
        assert child.returncode == -signal.SIGKILL
        assert len(robot.messages) == 3  # DingTalk posted message 3; its answer never reached the client
        with Ledger(tmp_path / "data" / "state" / "activation_ledger.sqlite") as ledger:
            (scope,) = [d for (d,) in ledger.db.execute("select distinct destination from activation_in_flight")]
            acknowledged = sum(e.acknowledged for e in ledger.entries(scope).values())
            assert len(ledger.in_flight(scope)) == 1 and acknowledged == 2

        again = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=GUARD)
        assert again.returncode == 0, again.stderr[-2000:]
        messages = [m["markdown"]["text"] for m in robot.messages]

    leads = Counter(email for text in messages for email in emails_in(text))
    assert len(messages) == 31 and len(leads) == 31 and set(leads.values()) == {1}  # every lead once, none twice
    with Ledger(tmp_path / "data" / "state" / "activation_ledger.sqlite") as ledger:
        entries = ledger.entries(scope)
        log = ledger.row_log("run-1", scope)
        assert ledger.in_flight(scope) == []
    assert Counter(e.status for e in entries.values()) == Counter({"acknowledged": 30, IN_DOUBT: 1})
    assert [e["outcome"] for e in log] == [IN_DOUBT] and "not posted again" in log[0]["reason"]


def emails_in(text: str) -> list[str]:
    return re.findall(r"lead\d{5}@example\.com", text)


@pytest.mark.parametrize("when", ["after", "before"])
def test_killed_around_an_outbox_write_the_rerun_writes_no_row_twice_and_loses_none(tmp_path, when):
    """215 contacts are three HubSpot outbox files of 100, 100 and 15; the process dies right after
    (or right before) writing the second, before the ledger recorded it."""
    write_segment(tmp_path / "data" / "warehouse.duckdb", make_rows(215))
    killed = activation(tmp_path, KILL_OUTBOX=f"hubspot:2:{when}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    folder = tmp_path / "data" / "outbox" / "hubspot" / "dt=2026-11-21"
    assert len(list(folder.glob("batch-*.json"))) == (2 if when == "after" else 1)

    again = activation(tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    ids = Counter(i["id"] for f in sorted(folder.glob("batch-*.json")) for i in json.loads(f.read_text())["inputs"])
    assert len(ids) == 215 and set(ids.values()) == {1}  # every contact once: none twice, none lost
    with Ledger(tmp_path / "data" / "state" / "activation_ledger.sqlite") as ledger:
        entries = ledger.entries("hubspot:outbox")
        assert ledger.in_flight("hubspot:outbox") == []
    assert len(entries) == 215 and all(e.acknowledged for e in entries.values())
    # and a third run of the interval writes nothing more
    assert activation(tmp_path).returncode == 0
    assert sum(len(json.loads(f.read_text())["inputs"]) for f in folder.glob("batch-*.json")) == 215


def test_every_robot_notes_its_request_in_the_ledger_before_making_it(settings, vendor, fake_time):
    """The rule the kill test relies on, for each robot: while the robot holds the request, the ledger
    already says it is under way; once answered, it is acknowledged and no longer under way."""
    import threading

    from intent_pipeline.activation import ledger_name, run_destination
    from intent_pipeline.activation.segments import read_segment

    from tests.activation.conftest import INTERVAL_START

    write_segment(settings.warehouse, make_rows(1, hot_every=1))
    rows = read_segment(settings.warehouse)
    result: dict = {}
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        scope = ledger_name(vendor.name, config)

        def send() -> None:
            with Ledger(settings.ledger_path) as ledger:
                destination = vendor.destination(config, sleep=fake_time.sleep, clock=fake_time.clock)
                result["report"] = run_destination(destination, rows, ledger, "run-1", INTERVAL_START,
                                                   settings.outbox_dir)  # fmt: skip

        server.hold(1)
        thread = threading.Thread(target=send)
        thread.start()
        try:
            assert server.holding.wait(GUARD)
            with Ledger(settings.ledger_path) as ledger:
                noted = ledger.in_flight(scope)
        finally:
            server.release.set()
            thread.join(GUARD)
    assert [(key, target) for key, _, _, target in noted] == [("p00000", "http")]
    assert result["report"]["sent_ok"] == 1
    with Ledger(settings.ledger_path) as ledger:
        assert ledger.in_flight(scope) == [] and ledger.entries(scope)["p00000"].acknowledged
