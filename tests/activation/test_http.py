"""The shared retry loop (``activation/http.py``): its waits, its caps, and secrets kept out of errors.

Per chat vendor, over real HTTP: a request that fails (the robot's port closed) is deferred with a
reason, and a refused robot fails the run with an error, and neither carries the robot's token.
"""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest
from intent_pipeline.activation import DestinationRefused, ledger_name
from intent_pipeline.activation.http import REDACTED, GaveUp, Retry, redact, status_outcome, with_retries
from intent_pipeline.activation.ledger import Ledger

from tests.activation.chat_vendors import FakeTime
from tests.activation.test_chat import make_destination, only_hot, run
from tests.fakes.feishu import HOOK_PATH

# A credential the robot's URL carries, and the config holding it (the fake expects another one).
TOKEN = "tok9F3kQ7xZ2mW8pL4vR6nY"
WRONG_CREDENTIAL = {
    "dingtalk": lambda server: {"access_token": TOKEN},  # ?access_token=…
    "wecom": lambda server: {"key": TOKEN},  # ?key=…
    "feishu": lambda server: {"webhook_url": server.url + HOOK_PATH + TOKEN},  # …/hook/<token>
    "slack": lambda server: {"webhook_url": server.url + "/services/T0ABC/B0DEF/" + TOKEN},  # the path
}


def test_a_failed_request_and_a_refusal_carry_no_token(settings, segment, vendor, fake_time):
    only_hot(segment, 1)
    with vendor.server(fake_time) as server:
        config = vendor.config(server, max_retries=1, **WRONG_CREDENTIAL[vendor.name](server))
        with pytest.raises(DestinationRefused) as raised:
            run(settings, make_destination(vendor, config, fake_time), "refused")
    # the robot's URL is named (which robot refused), without its credential
    assert "127.0.0.1" in str(raised.value) and REDACTED in str(raised.value)
    assert TOKEN not in str(raised.value)

    # the robot is gone (its port closed): the request fails with requests' error, which names the URL
    report = run(settings, make_destination(vendor, config, fake_time), "unreachable")
    assert report["deferred"] == 1 and report["requests"] == 2
    with Ledger(settings.ledger_path) as ledger:
        (entry,) = ledger.row_log("unreachable", ledger_name(vendor.name, config))
        counts = [row[0] for row in ledger.db.execute("select counts from activation_runs")]
        stored = json.dumps(ledger.entries(ledger_name(vendor.name, config)), default=repr)
    assert entry["outcome"] == "deferred"
    assert "gave up after 2 attempts" in entry["reason"] and "ConnectionError" in entry["reason"]
    assert "Max retries exceeded with url" in entry["reason"] and REDACTED in entry["reason"]
    for text in (entry["reason"], stored, *counts):
        assert TOKEN not in text


def test_redact_removes_secrets_and_query_values():
    text = "url: /robot/send?access_token=abc123&timestamp=1700&sign=x%2By (Caused by …); token tok is /hook/tok."
    clean = redact(text, ["tok"])
    assert clean == (
        f"url: /robot/send?access_token={REDACTED}&timestamp={REDACTED}&sign={REDACTED} (Caused by …); "
        f"token {REDACTED} is /hook/{REDACTED}."
    )
    assert redact("a+b/c? no query here", ["a+b/c"]) == f"{REDACTED}? no query here"  # URL-encoded forms too


def response(status: int, headers: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(status_code=status, headers=headers or {})


def test_status_outcome_retries_429_and_5xx_only():
    assert status_outcome(response(429, {"Retry-After": "7"}), "r") == Retry("r", 7.0)
    assert status_outcome(response(429), "r") == Retry("r", 1.0)
    assert status_outcome(response(503, {"Retry-After": "7"}), "r") == Retry("r")  # backoff
    for status in (400, 401, 403, 404, 408, 409, 413, 422):
        assert status_outcome(response(status), "r") is None


def test_waits_follow_retry_after_else_backoff_and_stop_at_the_cap():
    answers = [Retry("HTTP 429", 7.0), Retry("HTTP 503"), "done"]
    fake = FakeTime()
    result = with_retries(lambda: answers.pop(0), attempts=5, sleep=fake.sleep, rng=random.Random(1), label="t")
    assert result == "done"
    assert fake.sleeps[0] == 7.0 and 0.5 <= fake.sleeps[1] <= 1.0  # the second wait: backoff of attempt 2

    calls = []
    fake = FakeTime()
    result = with_retries(
        lambda: calls.append(1) or Retry("HTTP 429", 60.0),
        attempts=10,
        sleep=fake.sleep,
        rng=random.Random(1),
        label="t",
        max_total_wait=150,
    )
    assert fake.sleeps == [60.0, 60.0] and len(calls) == 3  # a third wait would pass 150 s
    assert isinstance(result, GaveUp) and result.reason.startswith("gave up after 3 attempts")

    result = with_retries(lambda: Retry("HTTP 502"), attempts=2, sleep=FakeTime().sleep, rng=random.Random(), label="t")
    assert result == GaveUp("gave up after 2 attempts, last: HTTP 502")


def test_errors_raised_through_the_loop_are_redacted():
    def refuse():
        raise DestinationRefused("refused at https://hooks.example.com/services/T1/B1/s3cr3tP4th?x=1")

    with pytest.raises(DestinationRefused) as raised:
        with_retries(refuse, attempts=3, sleep=FakeTime().sleep, rng=random.Random(), label="t",
                     secrets={"T1/B1/s3cr3tP4th"})  # fmt: skip
    assert str(raised.value) == f"refused at https://hooks.example.com/services/{REDACTED}?x={REDACTED}"
