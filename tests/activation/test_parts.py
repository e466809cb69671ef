"""The small parts: connection parsing, name splitting, Retry-After, the token bucket, the ledger."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from intent_pipeline.activation import ActivationConfigError, DingTalkConfig, HubSpotConfig
from intent_pipeline.activation.hubspot import split_name
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, Ledger
from intent_pipeline.activation.retry import TokenBucket, backoff_delay, retry_after_seconds
from intent_pipeline.activation.segments import SegmentError, read_segment

PLUGINS = str(Path(__file__).resolve().parents[2] / "plugins")
ENV = {**os.environ, "PYTHONPATH": PLUGINS}


def conn(host=None, schema=None, port=None, password=None, extra=None):
    return SimpleNamespace(host=host, schema=schema, port=port, password=password, extra_dejson=extra or {})


def test_hubspot_config_from_connection():
    config = HubSpotConfig.from_airflow_connection(conn("https://api.hubapi.com", password="pat-1"))
    assert config == HubSpotConfig(base_url="https://api.hubapi.com", token="pat-1")
    local = HubSpotConfig.from_airflow_connection(
        conn("127.0.0.1", schema="http", port=8080, password="pat-2", extra={"batch_size": "50", "timeout": 5})
    )
    assert (local.base_url, local.batch_size, local.timeout) == ("http://127.0.0.1:8080", 50, 5.0)
    assert HubSpotConfig.from_airflow_connection(conn(password="pat")).base_url == "https://api.hubapi.com"
    with pytest.raises(ActivationConfigError, match="token is empty"):
        HubSpotConfig.from_airflow_connection(conn("https://api.hubapi.com"))
    with pytest.raises(ActivationConfigError, match="batch_size"):
        HubSpotConfig(base_url="https://api.hubapi.com", token="t", batch_size=101)


def test_dingtalk_config_from_connection():
    config = DingTalkConfig.from_airflow_connection(
        conn("https://oapi.dingtalk.com/robot/send", password="tok", extra={"secret": "SECx"})
    )
    assert config == DingTalkConfig("https://oapi.dingtalk.com/robot/send", "tok", "SECx")
    # URI-style connections put the path in ``schema``; a pasted URL may carry the token.
    uri_style = DingTalkConfig.from_airflow_connection(conn("oapi.dingtalk.com", schema="robot/send", password="t"))
    assert uri_style.webhook_url == "https://oapi.dingtalk.com/robot/send" and uri_style.secret is None
    pasted = DingTalkConfig.from_airflow_connection(conn("https://oapi.dingtalk.com/robot/send?access_token=abc"))
    assert (pasted.webhook_url, pasted.access_token) == ("https://oapi.dingtalk.com/robot/send", "abc")


def test_credentials_come_from_the_password_then_the_extra_then_a_pasted_url():
    from intent_pipeline.activation.feishu import FeishuConfig
    from intent_pipeline.activation.salesforce.config import SalesforceConfig
    from intent_pipeline.activation.slack import SlackConfig
    from intent_pipeline.activation.webhook import WebhookConfig
    from intent_pipeline.activation.wecom import WeComConfig

    for config, key in ((HubSpotConfig, "token"), (WebhookConfig, "secret"), (SalesforceConfig, "access_token")):
        both = config.from_airflow_connection(conn("https://crm.example.com", password="pw", extra={key: "ex"}))
        extra_only = config.from_airflow_connection(conn("https://crm.example.com", extra={key: "ex", "timeout": 7}))
        assert (getattr(both, key), getattr(extra_only, key), extra_only.timeout) == ("pw", "ex", 7.0)
    for config, key, url in (
        (DingTalkConfig, "access_token", "https://oapi.dingtalk.com/robot/send"),
        (WeComConfig, "key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
    ):
        pasted = f"{url}?{key}=in-url"
        credentials = [
            getattr(config.from_airflow_connection(conn(pasted, password=password, extra=extra)), key)
            for password, extra in (("pw", {key: "ex"}), (None, {key: "ex"}), (None, {}))
        ]
        assert credentials == ["pw", "ex", "in-url"]
        assert config.from_airflow_connection(conn(pasted)).webhook_url == url
    hook = "https://open.feishu.cn/open-apis/bot/v2/hook"
    assert FeishuConfig.from_airflow_connection(conn(hook, password="pw", extra={"token": "ex"})).token == "pw"
    assert FeishuConfig.from_airflow_connection(conn(hook, extra={"token": "ex"})).token == "ex"
    slack = "https://hooks.slack.com/services"
    both = SlackConfig.from_airflow_connection(conn(password="T/B/pw", extra={"webhook_url": "T/B/ex"}))
    assert both.webhook_url == f"{slack}/T/B/pw"
    assert SlackConfig.from_airflow_connection(conn(extra={"webhook_url": "T/B/ex"})).webhook_url == f"{slack}/T/B/ex"
    with pytest.raises(ActivationConfigError, match="DingTalk access token is empty"):
        DingTalkConfig.from_airflow_connection(conn("https://oapi.dingtalk.com/robot/send"))
    with pytest.raises(ActivationConfigError, match="WeCom robot key is empty"):
        WeComConfig.from_airflow_connection(conn("https://qyapi.weixin.qq.com/cgi-bin/webhook/send"))


def test_every_chat_robot_keeps_its_own_limits_secrets_and_scope():
    from intent_pipeline.activation.feishu import FeishuConfig
    from intent_pipeline.activation.slack import SlackConfig
    from intent_pipeline.activation.wecom import WeComConfig

    hook = "https://open.feishu.cn/open-apis/bot/v2/hook/"
    robots = [  # a config, the same robot with another signing secret, another robot; its limit and secrets
        (DingTalkConfig("https://oapi.dingtalk.com/robot/send", "tok-d", "SEC-d"), {"secret": "SEC-2"},
         {"access_token": "tok-2"}, 20, ("tok-d", "SEC-d")),
        (WeComConfig("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "key-w"), {"timeout": 5}, {"key": "key-2"},
         20, ("key-w",)),
        (FeishuConfig(hook + "tok-f", secret="sec-f"), {"secret": "sec-2"}, {"webhook_url": hook + "tok-2"}, 100,
         ("tok-f", "sec-f")),
        (SlackConfig("https://hooks.slack.com/services/T1/B1/tok-s"), {"language": "en"},
         {"webhook_url": "https://hooks.slack.com/services/T1/B1/tok-2"}, 60, ("T1/B1/tok-s",)),
    ]  # fmt: skip
    for config, same_robot, other_robot, per_minute, secrets in robots:
        assert (config.max_per_minute, config.max_retries, config.timeout, config.language) == (per_minute, 3, 10, "zh")
        assert config.secrets == secrets
        assert not any(secret in repr(config) or secret in config.ledger_scope for secret in secrets)
        assert config.ledger_scope == replace(config, **same_robot).ledger_scope
        assert config.ledger_scope != replace(config, **other_robot).ledger_scope
        with pytest.raises(ActivationConfigError, match="max_retries must be >= 0"):
            replace(config, max_retries=-1)


def _destination_configs():
    from intent_pipeline.activation.feishu import FeishuConfig
    from intent_pipeline.activation.salesforce import SalesforceConfig
    from intent_pipeline.activation.slack import SlackConfig
    from intent_pipeline.activation.webhook import WebhookConfig

    return FeishuConfig, SalesforceConfig, SlackConfig, WebhookConfig


_HUBSPOT, _ORG = "https://api.hubapi.com", "https://acme.my.salesforce.com"
_FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/tok"
# (a destination's settings, given as a class name and arguments; the message the shared check gives)
_REFUSED_SETTINGS = [
    ("HubSpotConfig", {"base_url": "ftp://h", "token": "t"}, "HubSpot base_url must be an http(s) URL, got 'ftp://h'"),
    ("WebhookConfig", {"url": "crm.internal/hook", "secret": "s"},
     "webhook url must be an http(s) URL, got 'crm.internal/hook'"),
    ("SalesforceConfig", {"instance_url": "acme.my.salesforce.com", "access_token": "t"},
     "Salesforce instance_url must be an http(s) URL (the connection's host: the org's My Domain URL), "
     "got 'acme.my.salesforce.com'"),
    ("SalesforceConfig", {"instance_url": _ORG, "access_token": "t", "login_url": "login.salesforce.com"},
     "Salesforce login_url must be an http(s) URL, got 'login.salesforce.com'"),
    ("DingTalkConfig", {"webhook_url": "oapi.dingtalk.com/robot/send", "access_token": "tok"},
     "DingTalk webhook_url must be an http(s) URL, got 'oapi.dingtalk.com/robot/send'"),
    ("SlackConfig", {"webhook_url": "hooks.slack.com/services/T/B/x"},
     "Slack webhook_url must be an http(s) URL, got 'hooks.slack.com/services/T/B/x'"),
    ("HubSpotConfig", {"base_url": _HUBSPOT, "token": "t", "batch_size": 0},
     "HubSpot batch_size must be 1..100, got 0"),
    ("WebhookConfig", {"url": "https://crm/h", "secret": "s", "batch_size": 1001},
     "webhook batch_size must be 1..1000, got 1001"),
    ("SalesforceConfig", {"instance_url": _ORG, "access_token": "t", "batch_size": 201},
     "Salesforce batch_size must be 1..200, got 201"),
    ("HubSpotConfig", {"base_url": _HUBSPOT, "token": "t", "concurrency": 9},
     "HubSpot concurrency must be 1..8, got 9"),
    ("HubSpotConfig", {"base_url": _HUBSPOT, "token": "t", "max_retries": -1}, "max_retries must be >= 0, got -1"),
    ("WebhookConfig", {"url": "https://crm/h", "secret": "s", "max_retries": -2}, "max_retries must be >= 0, got -2"),
    ("SalesforceConfig", {"instance_url": _ORG, "access_token": "t", "max_retries": -1},
     "max_retries must be >= 0, got -1"),
    ("HubSpotConfig", {"base_url": _HUBSPOT, "token": "t", "requests_per_10s": 0},
     "requests_per_10s must be >= 1, got 0"),
    ("DingTalkConfig", {"webhook_url": "https://oapi.dingtalk.com/robot/send", "access_token": "tok",
                        "max_per_minute": 0}, "max_per_minute must be >= 1, got 0"),
    ("SlackConfig", {"webhook_url": "https://hooks.slack.com/services/T/B/x", "digest_over": 0},
     "digest_over must be >= 1, got 0"),
    ("FeishuConfig", {"webhook_url": _FEISHU, "max_per_second": 0}, "max_per_second must be >= 1, got 0"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "settings", "message"), _REFUSED_SETTINGS)
def test_every_destination_checks_its_urls_and_numbers_by_one_rule(config, settings, message):
    """activation.checks' rules (an http(s) URL, a least value, a range) refuse each destination's
    bad setting with the message it gives."""
    classes = {cls.__name__: cls for cls in (DingTalkConfig, HubSpotConfig, *_destination_configs())}
    with pytest.raises(ActivationConfigError) as refused:
        classes[config](**settings)
    assert str(refused.value) == message


def test_the_bounds_of_the_shared_checks_pass():
    FeishuConfig, SalesforceConfig, _, WebhookConfig = _destination_configs()
    HubSpotConfig(base_url="http://127.0.0.1:8080", token="t", batch_size=100, concurrency=8, max_retries=0)
    SalesforceConfig(_ORG, "t", batch_size=1, max_retries=0)
    WebhookConfig("https://crm/h", "s", batch_size=1000, max_retries=0)
    FeishuConfig(_FEISHU, max_per_second=1, digest_over=1, max_per_minute=1)


def test_config_from_a_real_airflow_connection():
    # A subprocess: importing Airflow takes seconds and must not leak into the other tests.
    code = """
import json
from airflow.sdk import Connection
from intent_pipeline.activation import DingTalkConfig, HubSpotConfig
h = Connection.from_json(json.dumps({"conn_type": "http", "host": "http://127.0.0.1:5000", "password": "pat-e2e"}),
                         conn_id="hubspot_default")
d = Connection.from_json(json.dumps({"conn_type": "http", "host": "https://oapi.dingtalk.com/robot/send",
                                     "password": "tok", "extra": {"secret": "SECx"}}), conn_id="dingtalk_default")
configs = [HubSpotConfig.from_airflow_connection(h), DingTalkConfig.from_airflow_connection(d)]
print(json.dumps([c.__dict__ for c in configs]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV)
    hubspot, dingtalk = json.loads(done.stdout.strip().splitlines()[-1])
    assert (hubspot["base_url"], hubspot["token"]) == ("http://127.0.0.1:5000", "pat-e2e")
    assert (dingtalk["webhook_url"], dingtalk["access_token"], dingtalk["secret"]) == (
        "https://oapi.dingtalk.com/robot/send", "tok", "SECx")  # fmt: skip


def test_package_import_is_cheap():
    code = "import sys, intent_pipeline.activation; print(sorted({'duckdb', 'requests', 'jinja2'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("张伟", ("伟", "张")),
        ("欧阳娜娜", ("娜娜", "欧阳")),
        ("Ada M. Lovelace", ("Ada M.", "Lovelace")),
        ("  Cher ", ("Cher", None)),
        (None, (None, None)),
    ],
)
def test_split_name(full_name, expected):
    assert split_name(full_name) == expected


def test_retry_after_and_backoff():
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds("120") == 60.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now
    delays = [backoff_delay(n) for n in range(10)]
    assert all(0.25 * 2**n <= d <= min(30, 0.5 * 2**n) for n, d in enumerate(delays[:6]))
    assert max(delays) <= 30


def test_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(20, 60.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(25):
        bucket.take()
    assert waits == pytest.approx([3.0] * 5)
    now[0] += 60  # a quiet minute refills the bucket, up to its capacity only
    waits.clear()
    for _ in range(21):
        bucket.take()
    assert waits == pytest.approx([3.0])


def test_ledger_keeps_the_last_acknowledged_hash_and_retries_failures(tmp_path):
    with Ledger(tmp_path / "state" / "ledger.sqlite") as ledger:
        ledger.record("hubspot", "r1", [("a@x.com", "h1", ACKNOWLEDGED, None), ("b@x.com", "h1", REJECTED, "bad")])
        ledger.record("hubspot", "r2", [("a@x.com", "h2", DEFERRED, "HTTP 503")])
        entries = ledger.entries("hubspot")
    a, b = entries["a@x.com"], entries["b@x.com"]
    # attempts count the tries of one payload: h2 is a new payload, so its first try
    assert (a.payload_hash, a.status, a.attempts, a.last_error) == ("h1", DEFERRED, 1, "HTTP 503")
    assert not a.acknowledged and a.acknowledged_at is not None
    assert (b.payload_hash, b.status, b.attempts) == (None, REJECTED, 1)


def test_every_execution_of_a_run_is_kept_with_its_row_log(tmp_path):
    """A task retry or a cleared run keeps its run_id: each execution is a row of its own, numbered,
    with its own row log; the latest one is the one finish_run closes."""
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for n, counts in enumerate(({"planned": 2}, {"planned": 1}), start=1):
            assert ledger.start_run("run-1", "hubspot", date(2026, 11, 21)) == n
            ledger.log_rows("run-1", "hubspot", [(f"{n}@x.com", "rejected", f"bad {n}")])
            ledger.finish_run("run-1", "hubspot", counts)
        assert ledger.start_run("run-2", "hubspot", date(2026, 11, 22)) == 1
        assert [(row["record_key"], row["reason"]) for row in ledger.row_log("run-1")] == [
            ("1@x.com", "bad 1"), ("2@x.com", "bad 2")]  # fmt: skip
        log = ledger.db.execute("select record_key, execution from activation_row_log order by rowid").fetchall()
        runs = ledger.db.execute(
            "select run_id, execution, interval_start, counts from activation_runs order by run_id, execution"
        ).fetchall()
        assert ledger.run_interval("run-1", "hubspot") == "2026-11-21"
    assert log == [("1@x.com", 1), ("2@x.com", 2)]
    assert runs == [("run-1", 1, "2026-11-21", '{"planned": 2}'), ("run-1", 2, "2026-11-21", '{"planned": 1}'),
                    ("run-2", 1, "2026-11-22", None)]  # fmt: skip


def test_a_ledger_from_before_executions_keeps_its_runs_as_execution_1(tmp_path):
    path = tmp_path / "ledger.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table activation_runs (run_id text not null, destination text not null, interval_start text not null,
            started_at text not null, finished_at text, counts text, primary key (run_id, destination));
        create table activation_row_log (run_id text not null, destination text not null, record_key text,
            outcome text not null, reason text);
        insert into activation_runs values ('run-1', 'hubspot', '2026-11-21', '2026-11-22 00:01:00',
            '2026-11-22 00:02:00', '{"planned": 3}');
        insert into activation_row_log values ('run-1', 'hubspot', 'a@x.com', 'rejected', 'bad');
        """
    )
    con.close()
    with Ledger(path) as ledger:
        assert ledger.start_run("run-1", "hubspot", date(2026, 11, 21)) == 2
        runs = ledger.db.execute("select run_id, execution, counts from activation_runs order by execution").fetchall()
        log = ledger.db.execute("select record_key, execution from activation_row_log").fetchall()
    assert runs == [("run-1", 1, '{"planned": 3}'), ("run-1", 2, None)]
    assert log == [("a@x.com", 1)]


def test_missing_segment_is_a_clear_error(tmp_path):
    with pytest.raises(SegmentError, match="does not exist"):
        read_segment(tmp_path / "nope.duckdb")
    import duckdb

    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("create schema marts; create table marts.segment_high_intent (person_id varchar, email varchar)")
    con.close()
    with pytest.raises(SegmentError, match="lacks columns.*'phone'"):
        read_segment(tmp_path / "wh.duckdb")


def test_sliding_window_never_lets_more_than_the_limit_into_any_window():
    from intent_pipeline.activation.retry import SlidingWindow

    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    window = SlidingWindow(5, 10.0, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(12):
        window.take()
        times.append(now[0])
        now[0] += 0.5  # the requests themselves take half a second
    assert all(sum(1 for t in times if start <= t < start + 10.0) <= 5 for start in times)
    # the 6th request waits for the 1st to be 10 s old (a token bucket would have let it through)
    assert times[5] == pytest.approx(10.0) and waits[0] == pytest.approx(7.5)
    # booked without re-reading the clock: a sleep that does not wait still ends
    idle = SlidingWindow(2, 10.0, clock=lambda: 0.0, sleep=lambda s: None)
    assert [idle.take() for _ in range(4)] == [0.0, 0.0, 10.0, 0.0]


def test_every_destination_reads_its_extra_by_one_rule():
    from intent_pipeline.activation.config import options_from_extra
    from intent_pipeline.activation.webhook import WebhookConfig

    extra = {"batch_size": " 50 ", "max_per_second": "2.5", "max_retries": "", "timeout": None, "other": "x"}
    options = options_from_extra(WebhookConfig, extra, WebhookConfig.EXTRA_KEYS)
    assert options == {"batch_size": 50, "max_per_second": 2.5}  # "" and null keep the default
    with pytest.raises(ActivationConfigError, match="extra 'batch_size' must be int, got 'fifty'"):
        options_from_extra(WebhookConfig, {"batch_size": "fifty"}, WebhookConfig.EXTRA_KEYS)
    hubspot = HubSpotConfig.from_airflow_connection(
        conn("https://api.hubapi.com", password="pat", extra={"batch_size": ""})
    )
    assert hubspot.batch_size == 100
