"""Fixtures for activation: a real DuckDB warehouse holding ``marts.segment_high_intent`` per contract."""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime
from pathlib import Path

import pytest
from intent_pipeline.settings import Settings

INTERVAL_START = date(2026, 11, 21)
INTERVAL_END = datetime(2026, 11, 22)
SEGMENT_DDL = """
create schema if not exists marts;
create or replace table marts.segment_high_intent (
    person_id varchar, email varchar, phone varchar, full_name varchar, company varchar, job_title varchar,
    industry varchar, owner varchar, crm_lead_id varchar, grade varchar, score_reasons varchar,
    lead_score integer, became_hot_in_interval boolean, scored_at timestamp,
    consent_crm_sync boolean, consent_chat_alert boolean
);
"""
COLUMNS = ("person_id", "email", "phone", "full_name", "company", "job_title", "industry", "owner", "crm_lead_id",
           "grade", "score_reasons", "lead_score", "became_hot_in_interval", "scored_at", "consent_crm_sync",
           "consent_chat_alert")  # fmt: skip
# Everyone in these fixtures consented to both purposes, unless a test says otherwise (privacy.consent).
CONSENTED = {"consent_crm_sync": True, "consent_chat_alert": True}

CHINESE_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳娜娜"]
COMPANIES = ["上海云智科技有限公司", "Acme Retail", "北京数联信息技术有限公司", None]


def make_rows(n: int, hot_every: int = 50) -> list[dict]:
    """``n`` segment rows; every ``hot_every``-th one became hot in the interval."""
    rows = []
    for i in range(n):
        chinese = i % 2 == 0
        rows.append(
            {
                "person_id": f"p{i:05d}",
                "email": f"lead{i:05d}@example.com",
                "phone": f"+86138{i:08d}" if i % 3 else None,
                "full_name": CHINESE_NAMES[i % len(CHINESE_NAMES)] if chinese else f"Alex Morgan{i}",
                "company": COMPANIES[i % len(COMPANIES)],
                "job_title": "销售总监" if chinese else "Director of IT",
                "industry": "零售",
                "owner": "王经理" if i % 5 == 0 else (str(70000 + i) if i % 5 == 1 else None),
                "crm_lead_id": f"L{i}",
                "grade": "high_intent",
                "score_reasons": "trial_request +30; pricing_page +15; director_or_above +20",
                "lead_score": 60 + i % 40,
                "became_hot_in_interval": i % hot_every == 0,
                "scored_at": INTERVAL_END,
                **CONSENTED,
            }
        )
    return rows


def write_segment(warehouse, rows: list[dict], table: str = "segment_high_intent") -> None:
    """Replace the segment table (or, with ``table="segment_crm_updates"``, the table of people
    who left it: same columns) in the warehouse file, as dbt does on each build."""
    import duckdb

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(SEGMENT_DDL.replace("segment_high_intent", table))
        if rows:
            import pyarrow as pa

            # one Arrow table, not executemany: 60,000 rows in a second instead of a minute
            arrow = pa.Table.from_pylist([{c: row.get(c, CONSENTED.get(c)) for c in COLUMNS} for row in rows])
            con.register("segment_rows", arrow)
            con.execute(f"insert into marts.{table} select {', '.join(COLUMNS)} from segment_rows")
            con.unregister("segment_rows")
    finally:
        con.close()


@pytest.fixture(params=["dingtalk", "wecom", "feishu", "slack"])
def vendor(request):
    """Runs a chat test once per vendor (``tests/activation/chat_vendors.py``)."""
    from tests.activation.chat_vendors import VENDORS

    return VENDORS[request.param]


@pytest.fixture
def fake_time():
    from tests.activation.chat_vendors import FakeTime

    return FakeTime()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(tmp_path)})


class Segment:
    """The warehouse's segment, editable between activation runs."""

    def __init__(self, settings: Settings, rows: list[dict]):
        self.settings = settings
        self.rows = rows
        self.save()

    def save(self) -> None:
        write_segment(self.settings.warehouse, self.rows)


@pytest.fixture
def segment(settings) -> Segment:
    return Segment(settings, make_rows(250))


def assert_accounting(report: dict) -> None:
    """planned = sent_ok + rejected + deferred + unchanged + invalid + dead_lettered + stale, for every destination."""
    for name, c in report.items():
        parts = c["sent_ok"] + c["rejected"] + c["deferred"] + c["unchanged"] + c["invalid"] + c["dead_lettered"]
        parts += c.get("stale", 0)
        assert c["planned"] == parts, (name, c)


STALL_DDL = """
create schema if not exists marts;
create or replace table marts.segment_funnel_stalls (
    stall_id varchar, person_id varchar, rule_id varchar, stage varchar, stall_reason varchar,
    stall_reason_zh varchar, opportunity_id varchar, opportunity_stage varchar, in_stage_since timestamp,
    stalled_at timestamp, hours_in_stage double, max_hours double, became_stalled_in_interval boolean,
    as_of_at timestamp, email varchar, phone varchar, full_name varchar, company varchar, job_title varchar,
    owner varchar, crm_lead_id varchar, is_customer boolean, is_unsubscribed boolean, lead_score integer,
    grade varchar, score_reasons varchar, score_reasons_zh varchar, consent_chat_alert boolean default true
);
"""
STALL_REASONS = {
    "opportunity_in_proposal": (
        "open opportunity in a proposal or quotation stage for more than 72 hours",
        "商机在方案/报价阶段超过72小时未推进",
        72.0,
    ),
    "brochures_without_pricing": (
        "3 brochure downloads and no pricing inquiry within 24 hours of the third",
        "下载3次产品手册后24小时内未询价",
        24.0,
    ),
}


def make_stall(person_id: str, rule_id: str = "opportunity_in_proposal", *, opportunity_id: str | None = "O1",
               stalled_at: datetime = datetime(2026, 11, 21), hours: float = 96.0, in_interval: bool = True,
               **fields) -> dict:  # fmt: skip
    """One row of ``marts.segment_funnel_stalls`` as dbt builds it (see the model's contract)."""
    reason, reason_zh, max_hours = STALL_REASONS[rule_id]
    opportunity_id = opportunity_id if rule_id == "opportunity_in_proposal" else None
    row = {
        "stall_id": f"{rule_id}:{person_id}" + (f":{opportunity_id}" if opportunity_id else ""),
        "person_id": person_id, "rule_id": rule_id, "stage": "sql" if opportunity_id else "engaged",
        "stall_reason": reason, "stall_reason_zh": reason_zh, "opportunity_id": opportunity_id,
        "opportunity_stage": "Proposal" if opportunity_id else None, "in_stage_since": stalled_at,
        "stalled_at": stalled_at, "hours_in_stage": hours, "max_hours": max_hours,
        "became_stalled_in_interval": in_interval, "as_of_at": INTERVAL_END, "email": f"{person_id}@example.com",
        "phone": None, "full_name": "赵强", "company": "深圳智造有限公司", "job_title": "采购经理", "owner": "李娜",
        "crm_lead_id": None, "is_customer": False, "is_unsubscribed": False, "lead_score": 72, "grade": "high_intent",
        "score_reasons": "demo_request +30; pricing_page +15", "score_reasons_zh": "演示申请 +30；价格页 +15",
    }  # fmt: skip
    row.update(fields)
    return row


def write_stalls(warehouse, rows: list[dict]) -> None:
    """Replace ``marts.segment_funnel_stalls`` in the warehouse file, as dbt does on each build."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(STALL_DDL)
        if rows:
            columns = list(rows[0])
            con.register("stall_rows", pa.Table.from_pylist(rows))
            con.execute(f"insert into marts.segment_funnel_stalls ({', '.join(columns)}) "
                        f"select {', '.join(columns)} from stall_rows")  # fmt: skip
            con.unregister("stall_rows")
    finally:
        con.close()


def activate_day(settings, hubspot, dingtalk, day, run_id: str, token: str, safety=None) -> dict:
    """activate() for the interval [day, day + 1) against a fake HubSpot (``token``) and a fake
    DingTalk robot, no sleeping; the report's accounting checked unless it is a dry run."""
    from datetime import datetime, timedelta

    from intent_pipeline.activation import DingTalkConfig, HubSpotConfig, activate

    report = activate(
        settings,
        day,
        datetime(day.year, day.month, day.day) + timedelta(days=1),
        run_id,
        hubspot=HubSpotConfig(base_url=hubspot.url, token=token),
        dingtalk=DingTalkConfig(webhook_url=dingtalk.webhook_url, access_token=dingtalk.access_token,
                                secret=dingtalk.secret),
        sleep=lambda seconds: None,
        safety=safety,
    )  # fmt: skip
    if not (safety and safety.dry_run):
        assert_accounting(report)
    return report


@contextlib.contextmanager
def logging_at_debug(path: Path):
    """Python's log at DEBUG level (urllib3's request lines included) into the file ``path`` while open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.fixture
def debug_log(tmp_path):
    """The run's log at DEBUG level, in a file under tmp_path."""
    with logging_at_debug(tmp_path / "logs" / "activate.log") as path:
        yield path
