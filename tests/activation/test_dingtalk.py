"""DingTalk robot alerts over real HTTP to a local server that verifies DingTalk's signature."""

from __future__ import annotations

import pytest
from intent_pipeline.activation import DingTalkConfig, activate, ledger_name
from intent_pipeline.activation.dingtalk import DingTalkConfigError, sign, signed_url
from intent_pipeline.activation.ledger import Ledger

from tests.activation.chat_vendors import FakeTime
from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.fakes.dingtalk import FakeDingTalk, expected_sign


def run(settings, server, run_id, fake_time=None, secret="__server__", **config):
    fake_time = fake_time or FakeTime()
    config = DingTalkConfig(
        webhook_url=server.webhook_url,
        access_token=server.access_token,
        secret=server.secret if secret == "__server__" else secret,
        **config,
    )
    report = activate(settings, INTERVAL_START, INTERVAL_END, run_id, hubspot=None, dingtalk=config,
                      sleep=fake_time.sleep, clock=fake_time.clock)  # fmt: skip
    assert_accounting(report)
    return report["dingtalk"]


def test_sign_matches_dingtalk_documentation():
    # Independent computation in the fake server; and the URL carries it URL-encoded.
    assert sign("SECabc", 1700000000000) == expected_sign("SECabc", "1700000000000")
    config = DingTalkConfig(webhook_url="https://oapi.dingtalk.com/robot/send", access_token="tok", secret="SECabc")
    url = signed_url(config, 1700000000000)
    signature = sign("SECabc", 1700000000000)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1700000000000&sign=")
    assert url.endswith(signature.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"))
    unsigned = DingTalkConfig(webhook_url="https://oapi.dingtalk.com/robot/send", access_token="tok")
    assert signed_url(unsigned) == "https://oapi.dingtalk.com/robot/send?access_token=tok"


def test_newly_hot_leads_are_alerted_once_with_a_verified_signature(settings, segment):
    hot = [row for row in segment.rows if row["became_hot_in_interval"]]
    assert len(hot) == 5
    segment.rows[50]["company"] = None
    segment.save()
    with FakeDingTalk() as server:
        report = run(settings, server, "run-1")
        assert report["mode"] == "http"
        assert report["planned"] == report["sent_ok"] == 5 and report["requests"] == 5
        assert all("sign" in r["query"] and "timestamp" in r["query"] for r in server.requests)
        assert len(server.messages) == 5
        first = server.messages[0]
        assert first["msgtype"] == "markdown"
        assert first["markdown"]["title"] == "新的高意向线索"
        assert "您有一条新的高意向线索【上海云智科技有限公司】，意向分60，请立即跟进！" in first["markdown"]["text"]
        assert "trial_request +30、pricing_page +15、director_or_above +20" in first["markdown"]["text"]
        assert "负责人：王经理" in first["markdown"]["text"]
        # No company: the name is the headline.
        # no company: the (masked) name is the headline
        assert "您有一条新的高意向线索【李＊】，意向分70" in server.messages[1]["markdown"]["text"]

        again = run(settings, server, "run-2")
        assert len(server.requests) == 5, "an acknowledged alert was sent again"
    assert again["unchanged"] == 5 and again["sent_ok"] == 0 and again["requests"] == 0


def test_alerted_lead_is_not_alerted_again_even_if_its_score_changes(settings, segment):
    with FakeDingTalk() as server:
        run(settings, server, "run-1")
        segment.rows[0]["lead_score"] = 95
        segment.rows[1]["became_hot_in_interval"] = True  # another lead became hot
        segment.save()
        report = run(settings, server, "run-2")
        assert len(server.messages) == 6
        assert "A＊＊＊" in server.messages[-1]["markdown"]["text"]  # Alex Morgan1, masked
    assert report["sent_ok"] == 1 and report["unchanged"] == 5


def test_wrong_secret_fails_with_a_clear_error(settings, segment):
    with FakeDingTalk(secret="SECright") as server:
        with pytest.raises(DingTalkConfigError, match="310000.*sign not match.*dingtalk_default"):
            run(settings, server, "run-1", secret="SECwrong")
        assert server.messages == []
        robot = ledger_name(
            "dingtalk", DingTalkConfig(webhook_url=server.webhook_url, access_token=server.access_token)
        )
    with Ledger(settings.ledger_path) as ledger:
        assert ledger.entries(robot) == {}


def test_send_too_fast_waits_and_retries(settings, segment):
    fake_time = FakeTime()
    with FakeDingTalk() as server:
        server.enqueue(130101)
        report = run(settings, server, "run-1", fake_time=fake_time)
        assert len(server.messages) == 5
    assert report["sent_ok"] == 5 and report["requests"] == 6
    assert 60.0 in fake_time.sleeps


def test_other_errcodes_reject_with_the_message_and_retry_next_run(settings, segment):
    with FakeDingTalk() as server:
        server.enqueue(400013, "群已被解散")
        report = run(settings, server, "run-1")
        assert report["rejected"] == 1 and report["sent_ok"] == 4
        robot = ledger_name(
            "dingtalk", DingTalkConfig(webhook_url=server.webhook_url, access_token=server.access_token)
        )
        with Ledger(settings.ledger_path) as ledger:
            (entry,) = ledger.row_log("run-1", robot)
        assert entry["outcome"] == "rejected" and "群已被解散" in entry["reason"]
        # Next interval: nobody is newly hot, but the failed alert is still owed.
        for row in segment.rows:
            row["became_hot_in_interval"] = False
        segment.save()
        retry = run(settings, server, "run-2")
        assert len(server.messages) == 5
    assert retry["planned"] == 1 and retry["sent_ok"] == 1


def test_rate_limit_is_20_messages_a_minute(settings, segment):
    fake_time = FakeTime()
    for row in segment.rows[:30]:
        row["became_hot_in_interval"] = True
    segment.save()
    with FakeDingTalk(max_per_minute=20, clock=fake_time.clock) as server:
        # digest_over above the count: one message per lead, paced by the robot's limit
        report = run(settings, server, "run-1", fake_time=fake_time, digest_over=100)
        assert len(server.messages) == report["sent_ok"]
    hot = sum(row["became_hot_in_interval"] for row in segment.rows)
    assert report["sent_ok"] == hot == 34
    # 20 at once, then the 21st waits until the first is a minute old; never 21 in one minute
    # (a token bucket would have sent 20 + 20 in the first minute and met errcode 130101)
    assert fake_time.sleeps == pytest.approx([60.0])
    assert fake_time.now - 1000.0 == pytest.approx(60.0)
    assert server.throttled == 0


def test_more_hot_leads_than_digest_over_get_one_digest_hottest_first(settings, segment):
    for index, row in enumerate(segment.rows[:30]):
        row["became_hot_in_interval"] = True
        row["lead_score"] = 60 + index
    segment.save()
    hot = sum(row["became_hot_in_interval"] for row in segment.rows)
    hottest = max(row["lead_score"] for row in segment.rows if row["became_hot_in_interval"])
    with FakeDingTalk(max_per_minute=20) as server:
        report = run(settings, server, "run-1")
        assert report["requests"] == 1 and len(server.messages) == 1
        assert report["sent_ok"] == hot == 34
        body = server.messages[0]["markdown"]
        assert body["title"] == "34条新的高意向线索"
        text = body["text"]
        assert text.startswith("### 新的高意向线索汇总\n您有34条新的高意向线索")
        assert len(text.encode("utf-8")) <= 4096
        scores = [int(line.split("意向分")[1].split("｜")[0]) for line in text.splitlines() if line.startswith("- ")]
        assert scores == sorted(scores, reverse=True) and scores[0] == hottest
        listed = len(scores)
        assert listed < 34 and text.endswith(f"… 还有{34 - listed}条未列出")
        # every lead the digest counts is acknowledged: the next run sends nothing
        again = run(settings, server, "run-2")
        assert again["requests"] == 0 and len(server.messages) == 1


def test_english_digest_and_single_message(settings, segment):
    for row in segment.rows[:30]:
        row["became_hot_in_interval"] = True
    segment.save()
    with FakeDingTalk() as server:
        run(settings, server, "run-1", language="en", digest_over=40)
        first = server.messages[0]["markdown"]
        assert first["title"] == "New high-intent lead"
        assert "You have a new high-intent lead **" in first["text"] and "Reasons: " in first["text"]
    other = segment.rows[30:]
    for row in segment.rows:
        row["became_hot_in_interval"] = row in other
    segment.save()
    with FakeDingTalk() as server:
        report = run(settings, server, "run-2", language="en", digest_over=1)
        alerted = report["sent_ok"]
        assert report["requests"] == 1 and alerted > 100
        assert server.messages[0]["markdown"]["title"] == f"{alerted} new high-intent leads"
        assert f"You have {alerted} new high-intent leads." in server.messages[0]["markdown"]["text"]
