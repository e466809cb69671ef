"""A run that succeeds keeps its secrets too (the outside check of issue 14).

test_canary.py searches what a *failing* run wrote. Here every chat robot's fake accepts the canary
credentials (DingTalk's access token and signing secret, WeCom's key, Feishu's hook token and
secret, Slack's webhook path), a hostile lead (mentions, markup, a link, control characters, a very
long name) is sent to each and acknowledged, and then everything the run left is searched for the
canaries: the returned report (what the Airflow task returns as its XCom value), the ledger's
SQLite tables, the outbox and reports folders and the log captured at DEBUG level. The robots
must also have received the message as text (no mention of everyone, no link).
"""

from __future__ import annotations

import json

from tests.activation.conftest import INTERVAL_START, write_segment
from tests.activation.hostile import lead_row
from tests.activation.test_canary import written_texts

CANARIES = {
    "dingtalk_token": "okCanaryDingtalkAcc3ss",
    "dingtalk_secret": "SECokCanaryDingtalkSign",
    "wecom_key": "okCanaryWecomK3y",
    "feishu_token": "okCanaryFeishuHook",
    "feishu_secret": "okCanaryFeishuSign",
    "slack_path": "okCanarySlackW3bhook",
}
HOSTILE_NAME = "王伟 @all @所有人 <!channel> <at id=all></at> [点我](http://evil.example/x)\n# 紧急\x07" + "长" * 3000


def servers(fake_time):
    from tests.fakes.dingtalk import FakeDingTalk
    from tests.fakes.feishu import FakeFeishu
    from tests.fakes.slack import FakeSlack
    from tests.fakes.wecom import FakeWeCom

    c = CANARIES
    return {
        "dingtalk": FakeDingTalk(clock=fake_time.clock, max_per_minute=20, access_token=c["dingtalk_token"],
                                 secret=c["dingtalk_secret"]),
        "wecom": FakeWeCom(key=c["wecom_key"], clock=fake_time.clock),
        "feishu": FakeFeishu(token=c["feishu_token"], secret=c["feishu_secret"], clock=fake_time.clock),
        "slack": FakeSlack(path=f"/services/T0OK/B0OK/{c['slack_path']}"),
    }  # fmt: skip


def test_a_successful_run_sends_hostile_values_as_text_and_keeps_every_secret(settings, fake_time, debug_log):
    from intent_pipeline.activation import run_destination
    from intent_pipeline.activation.ledger import Ledger
    from intent_pipeline.activation.segments import read_segment

    from tests.activation.chat_vendors import VENDORS

    row = {**lead_row(full_name=HOSTILE_NAME, company="<!here> **Acme** https://evil.example"), "industry": None,
           "crm_lead_id": None, "grade": "high_intent", "became_hot_in_interval": True, "scored_at": None}  # fmt: skip
    write_segment(settings.warehouse, [row])
    rows = read_segment(settings.warehouse)
    returned = {}
    for name, server in servers(fake_time).items():
        vendor = VENDORS[name]
        with server, Ledger(settings.ledger_path) as ledger:
            config = vendor.config(server)
            assert any(canary in json.dumps(config.__dict__, default=str) for canary in CANARIES.values())
            destination = vendor.destination(config, sleep=fake_time.sleep, clock=fake_time.clock)
            returned[name] = run_destination(destination, rows, ledger, f"run-{name}", INTERVAL_START,
                                             settings.outbox_dir)  # fmt: skip
            assert returned[name]["sent_ok"] == 1, (name, returned[name])
            (message,) = server.messages
        text = vendor.text(message)
        assert "王＊" in text or "王伟" in text, name  # the name is shown (masked where the vendor masks names)
        for markup in ("<at id=all>", "<!channel>", "<!here>", "http://evil", "https://evil", "\n# 紧急", "\x07"):
            assert markup not in text, (name, markup)
    texts = written_texts(settings.home)
    texts["returned"] = json.dumps(returned, default=str, ensure_ascii=False)
    assert debug_log.stat().st_size > 0 and str(settings.ledger_path) + ":dump" in texts
    found = [(where, key) for where, text in texts.items() for key, canary in CANARIES.items() if canary in text]
    assert found == []


def test_the_search_finds_a_canary_in_a_ledger_dump(tmp_path):
    """The search above can fail: a canary in a SQLite row is found."""
    import sqlite3

    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute("create table t (endpoint text)")
        db.execute(
            "insert into t values (?)",
            (f"https://oapi.dingtalk.com/robot/send?access_token={CANARIES['dingtalk_token']}",),
        )
    texts = written_texts(tmp_path)
    assert {key for text in texts.values() for key, canary in CANARIES.items() if canary in text} == {"dingtalk_token"}
