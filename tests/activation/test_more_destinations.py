"""Optional destinations run next to HubSpot and DingTalk when their Airflow connection exists."""

from __future__ import annotations

import json

from intent_pipeline import pipeline
from intent_pipeline.activation import activate
from intent_pipeline.activation.wecom import WeComConfig, WeComDestination

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting
from tests.fakes.wecom import FakeWeCom


def test_a_configured_wecom_robot_is_alerted_next_to_the_outboxes(settings, segment):
    with FakeWeCom() as server:
        config = WeComConfig(webhook_url=server.webhook_url, key=server.key)
        report = activate(settings, INTERVAL_START, INTERVAL_END, "run-1", hubspot=None, dingtalk=None,
                          sleep=lambda s: None, more=((WeComDestination, config),))  # fmt: skip
        messages = list(server.messages)
    assert_accounting(report)
    hot = sum(row["became_hot_in_interval"] for row in segment.rows)
    assert report["wecom"]["mode"] == "http" and report["wecom"]["sent_ok"] == hot == 5
    assert report["hubspot"]["mode"] == report["dingtalk"]["mode"] == "outbox"
    assert len(messages) == 5 and "意向分" in messages[0]["markdown"]["content"]


def test_optional_destinations_come_from_airflow_connections(monkeypatch):
    assert pipeline._more_destinations() == ()  # none configured: nothing extra runs, no outbox
    conn = {"conn_type": "http", "host": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "password": "robot-key"}
    monkeypatch.setenv("AIRFLOW_CONN_WECOM_DEFAULT", json.dumps(conn))
    ((cls, config),) = pipeline._more_destinations()
    assert cls is WeComDestination and config.key == "robot-key"


def test_every_optional_destination_builds_from_its_connection(monkeypatch):
    """Each optional connection id names a destination and config that activate() can construct."""
    connections = {
        "WECOM_DEFAULT": {"host": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "password": "k"},
        "FEISHU_DEFAULT": {"host": "https://open.feishu.cn/open-apis/bot/v2/hook/tok", "extra": {"secret": "s"}},
        "SLACK_DEFAULT": {"host": "https://hooks.slack.com/services/T/B/X"},
        "SALESFORCE_DEFAULT": {"host": "https://acme.my.salesforce.com", "password": "00Dtoken"},
        "CRM_WEBHOOK_DEFAULT": {"host": "https://crm.example.cn/hooks/intent", "password": "whsec"},
    }
    for conn_id, conn in connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps({"conn_type": "http", **conn}))
    found = pipeline._more_destinations()
    names = [cls(config, sleep=lambda s: None, clock=lambda: 0.0).name for cls, config in found]
    assert names == ["wecom", "feishu", "slack", "salesforce", "crm_webhook"]
