"""WeCom, Feishu and Slack alerts over real HTTP to local servers that enforce each vendor's contract."""

from __future__ import annotations

import random
import re
import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from intent_pipeline.activation import DestinationRefused, ledger_name, run_destination
from intent_pipeline.activation import dingtalk as dingtalk_module
from intent_pipeline.activation.chat import (
    body_size,
    chat_fields,
    fit_lines,
    lead_view,
    messages,
    truncate_utf8,
)
from intent_pipeline.activation.feishu import FeishuConfig, FeishuConfigError, sign
from intent_pipeline.activation.ledger import Ledger
from intent_pipeline.activation.retry import SlidingWindow
from intent_pipeline.activation.segments import read_segment
from intent_pipeline.activation.slack import SlackConfig, SlackConfigError
from intent_pipeline.activation.wecom import WeComConfig, WeComConfigError

from tests.activation.chat_vendors import VENDORS, FakeTime, Vendor, slack_text, wecom_text
from tests.activation.conftest import INTERVAL_START, Segment, assert_accounting, make_rows
from tests.fakes.feishu import FakeFeishu, expected_sign
from tests.fakes.slack import FakeSlack
from tests.fakes.wecom import FakeWeCom

SENTENCE = "您有一条新的高意向线索【上海云智科技有限公司】，意向分60，请立即跟进！"
REASONS_ZH_TEXT = "试用申请 +30；价格页 +15；总监及以上 +20"
PROFILE_URL = "https://crm.example.com/people/p00000?tab=intent&src=alert"


def make_destination(vendor: Vendor, config, fake_time: FakeTime, **kwargs):
    return vendor.destination(config, sleep=fake_time.sleep, clock=fake_time.clock, rng=random.Random(7), **kwargs)


def run(settings, destination, run_id: str, rows: list[dict] | None = None, day: date = INTERVAL_START) -> dict:
    """One activation run of one destination, the way ``activate`` runs each destination."""
    rows = read_segment(settings.warehouse) if rows is None else rows
    with Ledger(settings.ledger_path) as ledger:
        report = run_destination(destination, rows, ledger, run_id, day, settings.outbox_dir)
    assert_accounting({destination.name: report})
    return report


def only_hot(segment: Segment, count: int) -> list[str]:
    """Make exactly the first ``count`` rows newly hot; their person_ids."""
    for index, row in enumerate(segment.rows):
        row["became_hot_in_interval"] = index < count
    segment.save()
    return [row["person_id"] for row in segment.rows[:count]]


def ledger_entries(settings, vendor: Vendor, config) -> dict:
    with Ledger(settings.ledger_path) as ledger:
        return ledger.entries(ledger_name(vendor.name, config))


# --- one message per newly hot lead ---------------------------------------------------------------


def test_newly_hot_leads_get_one_chinese_message_each_and_only_once(settings, segment, vendor, fake_time):
    segment.rows[50]["company"] = None  # no company: the lead's name is the headline
    segment.save()
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        report = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert report["mode"] == "http"
        assert report["planned"] == report["sent_ok"] == 5 and report["requests"] == 5
        assert len(server.messages) == 5
        first = vendor.text(server.messages[0])
        assert SENTENCE in first
        assert "trial_request +30、pricing_page +15、director_or_above +20" in first
        assert "负责人：王经理" in first or "**负责人**：王经理" in first
        # no company: the headline names the lead by name, masked like every contact detail by default
        assert "您有一条新的高意向线索【李＊】，意向分70，请立即跟进！" in vendor.text(server.messages[1])

        again = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert len(server.messages) == 5 and len(server.requests) == 5, "an acknowledged alert was sent again"
    assert again["unchanged"] == 5 and again["sent_ok"] == 0 and again["requests"] == 0
    assert all(entry.acknowledged for entry in ledger_entries(settings, vendor, config).values())


def test_chinese_reasons_and_profile_link_are_shown_when_the_row_has_them(settings, segment, vendor, fake_time):
    rows = read_segment(settings.warehouse)
    for row in rows:
        row["score_reasons_zh"] = REASONS_ZH_TEXT
        row["profile_url"] = PROFILE_URL
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server), fake_time), "run-1", rows)
        text = vendor.text(server.messages[0])
    assert "试用申请 +30、价格页 +15、总监及以上 +20" in text
    assert "trial_request" not in text, "Chinese reasons are preferred in Chinese"
    assert "查看客户画像" in text
    link = "https://crm.example.com/people/p00000?tab=intent&amp;src=alert" if vendor.name == "slack" else PROFILE_URL
    assert link in text


def test_english_templates_when_language_is_en(settings, segment, vendor, fake_time):
    rows = read_segment(settings.warehouse)
    for row in rows:
        row["score_reasons_zh"] = REASONS_ZH_TEXT  # not used in English
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server, language="en"), fake_time), "run-1", rows)
        text = vendor.text(server.messages[0])
    assert "You have a new high-intent lead" in text and "intent score 60. Please follow up now!" in text
    assert "trial_request +30, pricing_page +15, director_or_above +20" in text
    assert "请立即跟进" not in text and "试用申请" not in text


# --- rate limits --------------------------------------------------------------------------------


def test_rate_limit_answer_is_waited_out_and_retried(settings, segment, vendor, fake_time):
    with vendor.server(fake_time) as server:
        wait = vendor.rate_limit(server)
        report = run(settings, make_destination(vendor, vendor.config(server), fake_time), "run-1")
        assert len(server.messages) == 5
    assert report["sent_ok"] == 5 and report["requests"] == 6
    assert wait in fake_time.sleeps


def test_wecom_sends_at_most_20_messages_in_any_minute(settings, segment, fake_time):
    only_hot(segment, 25)
    with FakeWeCom(clock=fake_time.clock) as server:
        config = WeComConfig(server.webhook_url, server.key, digest_over=30)
        report = run(settings, make_destination(VENDORS["wecom"], config, fake_time), "run-1")
        assert server.rate_limited == 0, "the robot's limit was hit"
        assert len(server.messages) == 25
    assert report["sent_ok"] == 25 and report["requests"] == 25
    # A burst of 20, then the 21st waits until the first is a minute old; 22-25 follow at once.
    assert fake_time.sleeps == pytest.approx([60.0])


def test_wecom_robot_limit_errcode_is_waited_out_when_the_configured_limit_is_too_high(settings, segment, fake_time):
    only_hot(segment, 25)
    with FakeWeCom(clock=fake_time.clock) as server:
        config = WeComConfig(server.webhook_url, server.key, max_per_minute=40, digest_over=30)
        report = run(settings, make_destination(VENDORS["wecom"], config, fake_time), "run-1")
        assert server.rate_limited == 1  # the fake refused the 21st message within 60 s
        assert len(server.messages) == 25
    assert report["sent_ok"] == 25 and report["requests"] == 26
    assert fake_time.sleeps == [60.0]


def test_feishu_stays_within_5_a_second(settings, segment, fake_time):
    only_hot(segment, 12)
    with FakeFeishu(clock=fake_time.clock) as server:
        config = FeishuConfig(server.webhook_url, secret=server.secret, digest_over=20)
        report = run(settings, make_destination(VENDORS["feishu"], config, fake_time), "run-1")
        assert server.rate_limited == 0 and len(server.messages) == 12
    assert report["requests"] == 12
    assert fake_time.now - 1000.0 == pytest.approx(2.0)  # 5 at once, 5 a second later, 2 a second after


def test_feishu_http_429_waits_for_the_reset_header(settings, segment, fake_time):
    with FakeFeishu(clock=fake_time.clock) as server:
        server.enqueue(99991400, "request trigger frequency limit", status=429, headers={"x-ogw-ratelimit-reset": 12})
        report = run(settings, make_destination(VENDORS["feishu"], VENDORS["feishu"].config(server), fake_time), "r1")
        assert len(server.messages) == 5
    assert report["sent_ok"] == 5 and report["requests"] == 6
    assert 12.0 in fake_time.sleeps


def test_slack_posts_one_message_a_second(settings, segment, fake_time):
    with FakeSlack() as server:
        report = run(settings, make_destination(VENDORS["slack"], VENDORS["slack"].config(server), fake_time), "r1")
        assert len(server.messages) == 5
    assert report["sent_ok"] == 5
    assert fake_time.sleeps == pytest.approx([1.0] * 4)


def test_slack_server_error_is_retried_with_backoff(settings, segment, fake_time):
    with FakeSlack() as server:
        server.enqueue(500, "rollup_error")
        report = run(settings, make_destination(VENDORS["slack"], VENDORS["slack"].config(server), fake_time), "r1")
        assert len(server.messages) == 5
    assert report["sent_ok"] == 5 and report["requests"] == 6
    assert 0.25 <= fake_time.sleeps[0] <= 0.5  # the first backoff: 0.5 s with equal jitter, before any pacing


def test_rejected_alert_is_recorded_with_the_reason_and_retried_next_run(settings, segment, vendor, fake_time):
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        vendor.reject(server, "scripted rejection 不合法")
        report = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert report["rejected"] == 1 and report["sent_ok"] == 4
        with Ledger(settings.ledger_path) as ledger:
            (entry,) = ledger.row_log("run-1", ledger_name(vendor.name, config))
        assert entry["outcome"] == "rejected" and "scripted rejection 不合法" in entry["reason"]
        # Next interval: nobody is newly hot, but the failed alert is still owed.
        only_hot(segment, 0)
        retry = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert len(server.messages) == 5
    assert retry["planned"] == 1 and retry["sent_ok"] == 1


# --- configuration errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "server_options", "config_overrides", "error", "match"),
    [
        ("wecom", {}, {"key": "wrong-key"}, WeComConfigError, r"93000: invalid webhook url.*wecom_default"),
        ("feishu", {}, {"secret": "wrong-secret"}, FeishuConfigError, r"19021: sign match fail.*wrong secret"),
        ("feishu", {"keywords": ("告警",)}, {}, FeishuConfigError, r"19024: Key Words Not Found"),
        ("slack", {"archived": True}, {}, SlackConfigError, r"410 channel_is_archived"),
        ("slack", {"prohibited": True}, {}, SlackConfigError, r"403 action_prohibited"),
    ],
)
def test_configuration_errors_fail_the_run(settings, segment, fake_time, name, server_options, config_overrides,
                                           error, match):  # fmt: skip
    vendor = VENDORS[name]
    with vendor.server(fake_time, **server_options) as server:
        config = vendor.config(server, **config_overrides)
        with pytest.raises(error, match=match) as raised:
            run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert isinstance(raised.value, DestinationRefused)
        assert server.messages == []
        assert len(server.requests) == 1, "a refused configuration is not retried"
    assert ledger_entries(settings, vendor, config) == {}


def test_wrong_webhook_urls_fail_the_run(settings, segment, fake_time):
    with FakeSlack() as server:
        config = SlackConfig(server.url + "/services/T0001/B0001/revoked")
        with pytest.raises(SlackConfigError, match="404 no_service"):
            run(settings, make_destination(VENDORS["slack"], config, fake_time), "run-1")
    with FakeFeishu(secret=None) as server:
        config = FeishuConfig(server.url + "/open-apis/bot/v2/hook/not-the-token")
        with pytest.raises(FeishuConfigError, match="19001"):
            run(settings, make_destination(VENDORS["feishu"], config, fake_time), "run-1")


# --- Feishu's signature -------------------------------------------------------------------------


def test_feishu_sign_is_the_published_algorithm_not_dingtalks():
    assert sign("feishu-secret", 1700000000) == expected_sign("feishu-secret", "1700000000")
    # DingTalk keys the HMAC with the secret and signs the string: the same inputs must differ.
    assert sign("feishu-secret", 1700000000) != dingtalk_module.sign("feishu-secret", 1700000000)


def test_feishu_body_is_signed_and_verified_by_the_fake(settings, segment, fake_time):
    with FakeFeishu(clock=fake_time.clock) as server:
        before = int(time.time())
        run(settings, make_destination(VENDORS["feishu"], VENDORS["feishu"].config(server), fake_time), "run-1")
        assert len(server.messages) == 5
        for message in server.messages:
            assert before - 5 <= int(message["timestamp"]) <= time.time() + 5
            assert message["sign"] == expected_sign(server.secret, message["timestamp"])


def test_feishu_stale_timestamp_is_refused(settings, segment, fake_time):
    with FakeFeishu(clock=fake_time.clock) as server:
        config = VENDORS["feishu"].config(server)
        slow_clock = make_destination(VENDORS["feishu"], config, fake_time, wall_clock=lambda: time.time() - 7200)
        with pytest.raises(FeishuConfigError, match="19021.*clock"):
            run(settings, slow_clock, "run-1")
        assert server.messages == []


def test_feishu_bot_without_secret_and_the_legacy_answer(settings, segment, fake_time):
    with FakeFeishu(secret=None, legacy=True, clock=fake_time.clock) as server:
        report = run(settings, make_destination(VENDORS["feishu"], FeishuConfig(server.webhook_url), fake_time), "r1")
        assert report["sent_ok"] == 5
        assert all("sign" not in m and "timestamp" not in m for m in server.messages)


# --- size limits --------------------------------------------------------------------------------


def test_wecom_content_over_4096_bytes_is_cut_at_the_reasons_keeping_the_owner(settings, segment, fake_time):
    rows = read_segment(settings.warehouse)
    rows[0]["score_reasons"] = ";".join(f"访问定价页第{i}次 +1" for i in range(400))
    uncut = str(messages("wecom", "hot_lead", "zh").text(lead_view(chat_fields(rows[0]), "zh")))
    assert len(uncut.encode()) > 4096  # the fake would answer 40058 to this
    with FakeWeCom(clock=fake_time.clock) as server:
        report = run(settings, make_destination(VENDORS["wecom"], VENDORS["wecom"].config(server), fake_time), "r1",
                     rows)  # fmt: skip
        content = wecom_text(server.messages[0])
    assert report["sent_ok"] == 5 and report["rejected"] == 0
    assert 3900 < len(content.encode()) <= 4096
    assert "、…\n" in content and "\ufffd" not in content  # the reasons that fit, then "…"
    assert SENTENCE in content and content.splitlines()[-1].startswith("> 负责人：王经理")


MENTIONS = {"dingtalk": "@13800000001", "wecom": "<@sales70001>", "feishu": "<at id=ou_sample70001></at>",
            "slack": "<@U0SAMPLE70001>"}  # fmt: skip  (陈静's ids in the sales teams seed)


def test_a_lead_with_many_long_reasons_and_values_keeps_score_mention_and_call_to_action(vendor, settings, fake_time):
    """Each value is cut at 200 characters, but 60 reasons (and values Slack writes five times longer:
    ``&`` is ``&amp;``) still overflow every robot's limit: the reasons and then the values are cut,
    with a visible ellipsis, never the score, the owner's mention or the call to follow up."""
    row = make_rows(1, hot_every=1)[0]
    row.update(owner="陈静", lead_score=88, company="&" * 300, full_name="张" * 300, job_title="<总监>" * 100,
               score_reasons_zh=";".join(f"第{i}次访问价格页" + "很" * 190 + " +1" for i in range(60)))  # fmt: skip
    spec = vendor
    with spec.server(fake_time) as server:
        report = run(settings, make_destination(spec, spec.config(server), fake_time), "r1", [row])
        message = server.messages[0]
    assert report["sent_ok"] == 1 and report["rejected"] == 0  # the fakes answer 400/40058 over the limits
    if vendor.name == "slack":
        assert all(len(block["text"]["text"]) <= 3000 for block in message["blocks"]) and len(message["text"]) <= 3000
    elif vendor.name == "feishu":
        assert body_size(message) <= 20 * 1024
    else:  # WeCom's documented 4,096 bytes; DingTalk documents none, the same cut is ours
        markdown = message["markdown"]
        assert len(markdown.get("content", markdown.get("text", "")).encode("utf-8")) <= 4096
    text = spec.text(message)
    assert "意向分88" in text and "请立即跟进" in text and MENTIONS[vendor.name] in text
    assert "第0次访问价格页" in text and "…" in text  # the first reason is shown, the cut is visible
    assert "第59次访问价格页" not in text  # the reasons were cut, not the message's tail


def test_truncate_utf8_never_splits_a_character():
    for text in ("意" * 2000, "a" + "意" * 2000, "ab" + "意" * 2000):
        cut = truncate_utf8(text, 4096)
        assert len(cut.encode()) <= 4096 and cut.endswith("…")
        assert set(cut[:-1]) <= set(text)
    assert truncate_utf8("short", 4096) == "short"


# --- the digest rule ----------------------------------------------------------------------------


def test_50_newly_hot_leads_make_one_digest_that_acknowledges_them_all(settings, segment, vendor, fake_time):
    hot = only_hot(segment, 50)
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        report = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert report["requests"] == 1 and len(server.messages) == 1
        text = vendor.text(server.messages[0])
        assert "您有50条新的高意向线索" in text
        listed = len(re.findall(r"意向分\d+", text))
        more = re.search(r"还有(\d+)条未列出", text)
        assert listed + (int(more.group(1)) if more else 0) == 50, "the digest must account for every lead"
        assert listed >= 10
        top = max(row["lead_score"] for row in segment.rows[:50])
        assert re.search(r"意向分(\d+)", text).group(1) == str(top), "hottest lead first"

        again = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert len(server.requests) == 1
    assert report["sent_ok"] == 50 and again["unchanged"] == 50
    entries = ledger_entries(settings, vendor, config)
    assert sorted(entries) == sorted(hot) and all(entry.acknowledged for entry in entries.values())


def test_english_digest(settings, segment, vendor, fake_time):
    only_hot(segment, 50)
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server, language="en"), fake_time), "run-1")
        text = vendor.text(server.messages[0])
    assert "You have 50 new high-intent leads" in text
    listed = len(re.findall(r"\| score \d+ \|", text))
    more = re.search(r"… and (\d+) more", text)
    assert listed + (int(more.group(1)) if more else 0) == 50
    assert "意向分" not in text


def test_1000_newly_hot_leads_cost_one_request(settings, vendor, fake_time):
    Segment(settings, make_rows(1000, hot_every=1))
    with vendor.server(fake_time) as server:
        report = run(settings, make_destination(vendor, vendor.config(server), fake_time), "run-1")
        assert len(server.requests) == 1 and len(server.messages) == 1
        assert "您有1000条新的高意向线索" in vendor.text(server.messages[0])
    assert report["sent_ok"] == 1000 and report["requests"] == 1


def test_digest_threshold_follows_digest_over(settings, segment, vendor, fake_time):
    only_hot(segment, 8)
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server, digest_over=7), fake_time), "run-1")
        assert len(server.messages) == 1
    only_hot(segment, 0)
    for row in segment.rows[8:15]:
        row["became_hot_in_interval"] = True
    segment.save()
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server, digest_over=7), fake_time), "run-2")
        assert len(server.messages) == 7, "7 leads, digest_over=7: one message each"


# What a robot writes longest per character: Slack's "&" is "&amp;" (five characters of its 3,000);
# 𠮷 (the 𠮷 of 𠮷野家, outside the BMP) is four UTF-8 bytes of WeCom's and DingTalk's 4,096.
LONGEST_CHARACTER = {"slack": "&", "wecom": "𠮷", "dingtalk": "𠮷"}


@pytest.mark.parametrize("name", sorted(LONGEST_CHARACTER))
def test_a_digest_lists_its_hottest_lead_even_when_its_line_alone_is_over_the_limit(name, settings, fake_time):
    """Each value is at most 200 characters, but the hottest lead's line (name, company, three reasons)
    written in the robot's markup is over its limit on its own: the digest still lists that lead first,
    its line cut the way a single alert is (values shorter, each ending in "…"), then the leads that fit
    in order, and "… and N more" counts exactly the rest. (Feishu's 20 KB holds any one line.)"""
    long = LONGEST_CHARACTER[name] * 300
    rows = make_rows(25, hot_every=1)
    rows[0].update(owner="陈静", lead_score=100, full_name=long, company=long,
                   score_reasons_zh=";".join(f"第{i}次访问价格页{long}" for i in range(5)))  # fmt: skip
    spec = VENDORS[name]
    with spec.server(fake_time) as server:
        report = run(settings, make_destination(spec, spec.config(server, contact_details="full"), fake_time), "r1",
                     rows)  # fmt: skip
        assert report["requests"] == 1 and len(server.messages) == 1
        message = server.messages[0]
    assert report["sent_ok"] == 25 and report["rejected"] == 0  # every lead counted, and acknowledged
    if name == "slack":
        assert all(len(block["text"]["text"]) <= 3000 for block in message["blocks"])
    else:
        markdown = message["markdown"]
        assert len(markdown.get("content", markdown.get("text", "")).encode("utf-8")) <= 4096
    text = spec.text(message)
    scores = [int(score) for score in re.findall(r"意向分(\d+)", text)]
    more = re.search(r"还有(\d+)条未列出", text)
    assert scores and scores[0] == 100, "the hottest lead is listed, first"
    assert scores == sorted(scores, reverse=True), "hottest first, in order"
    assert len(scores) + (int(more.group(1)) if more else 0) == 25, "every lead listed or counted, once"
    first = next(line for line in text.splitlines() if "意向分100" in line)
    assert "…" in first and "第0次访问价格页" in first and MENTIONS[name] in first  # cut visibly; owner stays


def test_fit_lines_keeps_order_and_counts_the_rest():
    lines = [f"line {i}" for i in range(10)]
    text = fit_lines("head", lines, lambda n: f"+{n}", lambda t: len(t) <= 30)
    # the list is a block of its own: a blank line before it and before "… and N more"
    assert text == "head\n\nline 0\nline 1\nline 2\n\n+7"
    assert fit_lines("head", lines[:2], lambda n: f"+{n}", lambda t: True) == "head\n\nline 0\nline 1"


def test_fit_lines_shortens_a_first_line_over_the_limit_to_fit_with_the_count_after_it():
    def longest_prefix(fits) -> str:  # what shortened_to_fit gives: the line, shorter, that fits
        return next(("x" * n for n in range(40, 0, -1) if fits("x" * n)), "x")

    def fits(text: str) -> bool:
        return len(text) <= 30

    # "head", a blank line, the first line, a blank line, "+2": 20 characters are left for the line
    text = fit_lines("head", ["x" * 40, "b", "c"], lambda n: f"+{n}", fits, shorten_first=longest_prefix)
    assert text == "head\n\n" + "x" * 20 + "\n\n+2"
    assert fit_lines("head", ["x" * 40, "b", "c"], lambda n: f"+{n}", fits) == "head\n\n+3"  # none given: not cut


# --- outbox mode, settings, slack escaping ------------------------------------------------------


def test_without_a_connection_the_bodies_go_to_the_outbox(settings, segment, vendor, fake_time):
    report = run(settings, make_destination(vendor, None, fake_time), "run-1")
    assert report["mode"] == "outbox" and report["requests"] == 0 and report["sent_ok"] == 5
    assert report["outbox_files"]
    with Ledger(settings.ledger_path) as ledger:
        assert len(ledger.entries(f"{vendor.name}:outbox")) == 5


def test_slack_escapes_mrkdwn_control_characters(settings, segment, fake_time):
    rows = read_segment(settings.warehouse)
    rows[0]["company"] = "A&B <Retail>"
    with FakeSlack() as server:
        run(settings, make_destination(VENDORS["slack"], VENDORS["slack"].config(server), fake_time), "run-1", rows)
        text = slack_text(server.messages[0])
    assert "【A&amp;B &lt;Retail&gt;】" in text and "<Retail>" not in text


def test_sliding_window_allows_a_burst_then_waits_for_the_oldest():
    fake = FakeTime()
    window = SlidingWindow(3, 60.0, fake.clock, fake.sleep)
    for _ in range(3):
        assert window.take() == 0.0
    fake.now += 10
    assert window.take() == pytest.approx(50.0)
    assert fake.now == pytest.approx(1060.0)


def conn(host, password=None, schema=None, extra=None):
    return SimpleNamespace(host=host, schema=schema, port=None, password=password, extra_dejson=extra or {})


def test_configs_from_airflow_connections():
    pasted = WeComConfig.from_airflow_connection(conn("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"))
    assert (pasted.webhook_url, pasted.key) == ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "k1")
    wecom = WeComConfig.from_airflow_connection(conn("", password="k2", extra={"language": "EN", "digest_over": "5"}))
    assert (wecom.webhook_url, wecom.key, wecom.language, wecom.digest_over) == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "k2", "en", 5)  # fmt: skip
    assert wecom.ledger_scope.startswith("key-") and "k2" not in wecom.ledger_scope

    hook = "https://open.feishu.cn/open-apis/bot/v2/hook/tok-1"
    feishu = FeishuConfig.from_airflow_connection(conn(hook, extra={"secret": "s"}))
    assert (feishu.webhook_url, feishu.token, feishu.secret) == (hook, "tok-1", "s")
    assert FeishuConfig.from_airflow_connection(conn("", password="tok-1")).webhook_url == hook
    assert feishu.ledger_scope == FeishuConfig(hook, secret="rotated").ledger_scope  # the secret is not the bot
    with pytest.raises(ValueError, match="/hook/<token>"):
        FeishuConfig("https://open.feishu.cn/open-apis/bot/v2/hook")

    url = "https://hooks.slack.com/services/T1/B1/x"
    assert SlackConfig.from_airflow_connection(conn("", password=url)).webhook_url == url
    assert SlackConfig.from_airflow_connection(conn("", password="T1/B1/x")).webhook_url == url
    assert SlackConfig(url).ledger_scope.startswith("key-") and "slack" not in SlackConfig(url).ledger_scope
    with pytest.raises(ValueError, match="language"):
        SlackConfig(url, language="fr")


# --- a recycled lead is alerted once more ---------------------------------------------------------


def test_a_recycled_lead_is_alerted_once_more_naming_both_owners(settings, segment, vendor, fake_time):
    rows = read_segment(settings.warehouse)
    for row in rows:
        row.update(alert_round=0, recycled_in_interval=False, recycled_from_owner=None)
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        first = run(settings, make_destination(vendor, config, fake_time), "run-1", rows)
        assert first["sent_ok"] == 5
        # Next interval: nobody is newly hot; lead 0 was recycled (no follow-up within the SLA: a later
        # interval than the one that announced it, as lead_assignments recycles).
        for row in rows:
            row["became_hot_in_interval"] = False
        rows[0].update(owner="李娜", alert_round=1, recycled_in_interval=True, recycled_from_owner="王经理")
        next_day = INTERVAL_START + timedelta(days=1)
        second = run(settings, make_destination(vendor, config, fake_time), "run-2", rows, next_day)
        assert second["sent_ok"] == 1 and len(server.messages) == 6
        text = vendor.text(server.messages[-1]).replace("**", "").replace("*", "")
        # its own title and headline, not "new lead": from the first owner to the next
        assert "新的高意向线索" not in text and "线索超时未跟进，已转交" in text
        assert "超时未跟进，已由王经理转给李娜，请立即跟进！" in text
        assert "负责人：李娜" in text
        # once only: the recycled alert is acknowledged, the next run (still alert_round 1) sends nothing
        rows[0]["recycled_in_interval"] = False
        third = run(settings, make_destination(vendor, config, fake_time), "run-3", rows, next_day)
        assert third["sent_ok"] == 0 and len(server.messages) == 6
    keys = set(ledger_entries(settings, vendor, config))
    assert {rows[0]["person_id"], f"{rows[0]['person_id']}#1"} <= keys
