"""Stall alerts (``marts.segment_funnel_stalls``) in every chat destination, over real HTTP to the
vendors' fakes: once per stall, in Chinese or English, in a digest of their own when there are
many, never to a CRM."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from intent_pipeline.activation import HubSpotConfig, activate
from intent_pipeline.activation.segments import STALL_COLUMNS, STALL_OPTIONAL_COLUMNS, read_segment

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, assert_accounting, make_stall, write_stalls
from tests.activation.test_chat import ledger_entries, make_destination, only_hot, run
from tests.activation.test_hubspot import TOKEN, Sleeps
from tests.fakes.hubspot import FakeHubSpot

ROOT = Path(__file__).resolve().parents[2]
OPPORTUNITY_HEADLINE = (
    "您的线索【深圳智造有限公司】已停滞：商机在方案/报价阶段超过72小时未推进（已96小时），请尽快跟进！"
)


def plain(text: str) -> str:
    """A message's text without markdown emphasis, so one assertion reads every vendor's."""
    return text.replace("**", "").replace("*", "")


def test_a_stall_is_alerted_once_with_its_reason_stage_score_and_owner(settings, segment, vendor, fake_time):
    only_hot(segment, 0)  # no newly hot lead: the stalls are the only alerts
    write_stalls(settings.warehouse, [
        make_stall("s1"),  # an opportunity in Proposal for 96 h, became a stall in the interval
        make_stall("s2", "brochures_without_pricing", hours=38.0, lead_score=None, score_reasons=None,
                   score_reasons_zh=None, company=None, full_name="Ming Li"),
        make_stall("s3", in_interval=False, stalled_at=datetime(2026, 11, 2)),  # alerted back then
    ])  # fmt: skip
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        report = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert report["planned"] == report["sent_ok"] == 2 and len(server.messages) == 2
        texts = [plain(vendor.text(m)) for m in server.messages]
        first = next(text for text in texts if "Proposal" in text)
        second = next(text for text in texts if "Proposal" not in text)
        assert OPPORTUNITY_HEADLINE in first
        assert "商机阶段：Proposal" in first and "负责人：李娜" in first
        assert "意向分：72（演示申请 +30、价格页 +15）" in first
        # no company: the masked name (contact details are masked by default)
        assert "您的线索【M＊＊＊】已停滞：下载3次产品手册后24小时内未询价（已38小时）" in second
        assert "意向分：未评分" in second and "商机阶段：无商机" in second

        again = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert len(server.messages) == 2, "an acknowledged stall alert was sent again"
    assert again["unchanged"] == 2 and again["sent_ok"] == 0 and again["requests"] == 0
    assert sorted(ledger_entries(settings, vendor, config)) == [
        "stall:brochures_without_pricing:s2@2026-11-21T00:00:00",
        "stall:opportunity_in_proposal:s1:O1@2026-11-21T00:00:00",
    ]


def test_english_stall_alert(settings, segment, vendor, fake_time):
    only_hot(segment, 0)
    write_stalls(settings.warehouse, [make_stall("s1")])
    with vendor.server(fake_time) as server:
        run(settings, make_destination(vendor, vendor.config(server, language="en"), fake_time), "run-1")
        text = plain(vendor.text(server.messages[0]))
    assert ("Stalled lead 深圳智造有限公司: open opportunity in a proposal or quotation stage for more than "
            "72 hours (96 h so far)") in text  # fmt: skip
    assert "Opportunity stage: Proposal" in text and "Intent score: 72 (demo_request +30, pricing_page +15)" in text
    assert "商机" not in text


def test_a_failed_stall_alert_is_retried_and_a_new_stall_of_the_same_person_alerted_again(
    settings, segment, vendor, fake_time
):
    only_hot(segment, 0)
    write_stalls(settings.warehouse, [make_stall("s1")])
    with vendor.server(fake_time) as server:
        config = vendor.config(server)
        vendor.reject(server, "message rejected")
        first = run(settings, make_destination(vendor, config, fake_time), "run-1")
        assert first["rejected"] == 1
        # the next interval: still stalled (not new any more), the failed alert is sent again
        write_stalls(settings.warehouse, [make_stall("s1", in_interval=False, hours=120.0)])
        second = run(settings, make_destination(vendor, config, fake_time), "run-2")
        assert second["sent_ok"] == 1 and "已120小时" in plain(vendor.text(server.messages[-1]))
        # it moved on, came back to Proposal and stalled again: a new stall, a new alert
        write_stalls(settings.warehouse, [make_stall("s1", stalled_at=datetime(2026, 11, 28), hours=80.0)])
        third = run(settings, make_destination(vendor, config, fake_time), "run-3")
        assert third["sent_ok"] == 1 and "已80小时" in plain(vendor.text(server.messages[-1]))
    assert len(ledger_entries(settings, vendor, config)) == 2


def test_consent_a_behaviour_stall_of_an_unsubscribed_person_is_not_alerted(settings, segment, vendor, fake_time):
    only_hot(segment, 0)
    write_stalls(settings.warehouse, [
        make_stall("s1", "brochures_without_pricing", is_unsubscribed=True),  # marketing nurture: opted out
        make_stall("s2", is_unsubscribed=True),  # an open opportunity: the sales conversation goes on
    ])  # fmt: skip
    with vendor.server(fake_time) as server:
        report = run(settings, make_destination(vendor, vendor.config(server), fake_time), "run-1")
        texts = [plain(vendor.text(m)) for m in server.messages]
    assert report["planned"] == report["sent_ok"] == 1 and len(texts) == 1 and "商机阶段：Proposal" in texts[0]


def test_many_alerts_make_one_digest_of_hot_leads_and_one_of_stalls(settings, segment, vendor, fake_time):
    only_hot(segment, 25)
    write_stalls(settings.warehouse, [make_stall(f"s{i:02d}", lead_score=50 + i) for i in range(25)])
    with vendor.server(fake_time) as server:
        report = run(settings, make_destination(vendor, vendor.config(server), fake_time), "run-1")
        hot, stalls = (plain(vendor.text(m)) for m in server.messages)
    assert report["sent_ok"] == 50 and report["requests"] == 2
    assert "您有25条新的高意向线索" in hot and "停滞" not in hot
    assert "有25条线索停滞，请尽快跟进！" in stalls and "高意向线索" not in stalls
    listed = len(re.findall(r"商机在方案/报价阶段超过72小时未推进（已96小时）", stalls))
    more = re.search(r"还有(\d+)条未列出", stalls)
    assert listed + (int(more.group(1)) if more else 0) == 25 and listed >= 10
    assert re.search(r"意向分(\d+)", stalls).group(1) == "74", "hottest stall first"


def test_crms_never_receive_stalls(settings, segment):
    """HubSpot keeps the segment in sync; a stalled person outside it is not created there, and a
    stalled person it holds is not sent twice."""
    only_hot(segment, 0)
    write_stalls(settings.warehouse, [make_stall("outsider"), make_stall("p00001", email="lead00001@example.com")])
    rows = read_segment(settings.warehouse, INTERVAL_END)
    assert sum(1 for row in rows if row.get("alert_kind") == "stall") == 2
    with FakeHubSpot(token=TOKEN) as server:
        reports = [
            activate(
                settings,
                INTERVAL_START,
                INTERVAL_END,
                f"run-{n}",
                hubspot=HubSpotConfig(base_url=server.url, token=TOKEN),
                dingtalk=None,
                sleep=Sleeps(),
            )  # fmt: skip
            for n in (1, 2)
        ]
        contacts = set(server.contacts)
    for report in reports:
        assert_accounting(report)
    first, second = (report["hubspot"] for report in reports)
    assert first["planned"] == first["sent_ok"] == 250 and first["invalid"] == 0
    # the second run: lead00001 is in HubSpot's ledger now; its stall row must not join the sync
    assert second["planned"] == second["unchanged"] == 250 and second["invalid"] == 0
    assert "outsider@example.com" not in contacts and len(contacts) == 250
    assert reports[0]["dingtalk"]["planned"] == reports[0]["dingtalk"]["sent_ok"] == 2  # the outbox: both stalls


def test_the_stall_columns_activation_reads_are_in_the_models_contract():
    import yaml

    models = yaml.safe_load((ROOT / "dbt_project/models/marts/funnel/_funnel__models.yml").read_text())["models"]
    model = next(m for m in models if m["name"] == "segment_funnel_stalls")
    declared = {column["name"] for column in model["columns"]}
    missing = set(STALL_COLUMNS + STALL_OPTIONAL_COLUMNS) - declared
    assert not missing, f"activation reads columns the model does not declare: {missing}"


@pytest.mark.parametrize("table_exists", [False, True])
def test_a_warehouse_without_stalls_alerts_only_hot_leads(settings, segment, table_exists):
    if table_exists:
        write_stalls(settings.warehouse, [])
    rows = read_segment(settings.warehouse)
    assert len(rows) == 250 and not any(row.get("alert_kind") for row in rows)
