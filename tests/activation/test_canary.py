"""One redaction for every destination (#14 item 5): every connection configured with canary secrets,
every destination failing in every way the fakes can (connection refused, timeout, 4xx, 5xx, a body
that is not JSON or not the vendor's JSON) at an endpoint that echoes the request in its error texts;
then every file the run wrote (the ledger's SQLite, the outbox, the reports, the log captured at DEBUG
level, the error raised) is searched for the canaries: none may be found."""

from __future__ import annotations

import json
import sqlite3
import traceback
from pathlib import Path

import pytest

from tests.activation.conftest import INTERVAL_END, INTERVAL_START, make_rows, write_segment
from tests.fakes.failing import MODES, FailingServer, refused_url

CANARIES = {
    "hubspot": "canaryHubspotTok3n11",
    "dingtalk": "canaryDingtalkAcc3ss22",
    "dingtalk_secret": "SECcanaryDingtalkSign33",
    "wecom": "canaryWecomK3y44",
    "feishu": "canaryFeishuHook55",
    "feishu_secret": "canaryFeishuSign66",
    "slack": "canarySlackW3bhook77",
    "salesforce": "canarySalesforceAcc3ss88",
    "salesforce_client_secret": "canarySalesforceCli3nt99",
    "salesforce_refresh": "canarySalesforceR3fresh00",
    "webhook": "canaryWebhookSigning12",
}


def configs(base: str, timeout: float) -> dict:
    """Every destination's config, at ``base``, with the canaries as credentials (one retry each)."""
    from intent_pipeline.activation.dingtalk import DingTalkConfig
    from intent_pipeline.activation.feishu import FeishuConfig
    from intent_pipeline.activation.hubspot import HubSpotConfig
    from intent_pipeline.activation.salesforce import SalesforceConfig
    from intent_pipeline.activation.slack import SlackConfig
    from intent_pipeline.activation.webhook import WebhookConfig
    from intent_pipeline.activation.wecom import WeComConfig

    c = CANARIES
    chat = {"max_retries": 1, "timeout": timeout, "digest_over": 100, "max_per_minute": 100}
    return {
        "hubspot": HubSpotConfig(base_url=base, token=c["hubspot"], max_retries=1, timeout=timeout),
        "dingtalk": DingTalkConfig(
            base + "/robot/send", access_token=c["dingtalk"], secret=c["dingtalk_secret"], **chat
        ),
        "wecom": WeComConfig(base + "/cgi-bin/webhook/send", key=c["wecom"], **chat),
        "feishu": FeishuConfig(base + "/open-apis/bot/v2/hook/" + c["feishu"], secret=c["feishu_secret"], **chat),
        "slack": SlackConfig(base + "/services/T0CANARY/B0CANARY/" + c["slack"], **chat),
        "salesforce": SalesforceConfig(
            instance_url=base,
            access_token=c["salesforce"],
            client_id="canary-client",
            client_secret=c["salesforce_client_secret"],
            refresh_token=c["salesforce_refresh"],
            login_url=base,
            max_retries=1,
            timeout=timeout,
        ),  # fmt: skip
        "webhook": WebhookConfig(url=base + "/intent", secret=c["webhook"], max_retries=1, timeout=timeout),
    }


def run_everything(settings, base: str, timeout: float) -> list[str]:
    """``activate`` with every destination at ``base``; returns the texts of what it raised."""
    from intent_pipeline.activation import activate
    from intent_pipeline.activation.salesforce import SalesforceDestination
    from intent_pipeline.activation.webhook import WebhookDestination

    from tests.activation.chat_vendors import FakeTime
    from tests.activation.hostile import DESTINATIONS

    c = configs(base, timeout)
    more = [(DESTINATIONS[n], c[n]) for n in ("wecom", "feishu", "slack")]
    more += [(SalesforceDestination, c["salesforce"]), (WebhookDestination, c["webhook"])]
    raised = []
    # rate limits and backoffs wait on a clock that moves only when they sleep: a no-op sleep beside
    # the real clock would spin until real time caught up (the webhook's 5 a second: 0.2 s a request)
    fake = FakeTime()
    try:
        report = activate(settings, INTERVAL_START, INTERVAL_END, "run-canary", hubspot=c["hubspot"],
                          dingtalk=c["dingtalk"], sleep=fake.sleep, clock=fake.clock, more=tuple(more))  # fmt: skip
        (settings.reports_dir / "activation.json").parent.mkdir(parents=True, exist_ok=True)
        (settings.reports_dir / "activation.json").write_text(json.dumps(report, default=str))
    except Exception as error:  # what the task would fail with: its message and traceback
        raised.append(f"{error}\n{''.join(traceback.format_exception(error))}")
    return raised


def written_texts(root: Path) -> dict[str, str]:
    """Every file under ``root`` as text (bytes decoded leniently), and every SQLite table dumped."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".duckdb":  # the warehouse is the test's input, not written by the run
            out[str(path)] = path.read_bytes().decode("utf-8", "replace")
            if path.suffix == ".sqlite":
                with sqlite3.connect(path) as db:
                    tables = [name for (name,) in db.execute("select name from sqlite_master where type='table'")]
                    rows = [repr(row) for table in tables for row in db.execute(f"select * from {table}")]
                    out[f"{path}:dump"] = "\n".join(rows)
    return out


def canaries_in(texts: dict[str, str]) -> list[tuple[str, str]]:
    return [(where, name) for where, text in texts.items() for name, canary in CANARIES.items() if canary in text]


@pytest.mark.parametrize("mode", ["refused", *MODES])
def test_no_canary_secret_in_anything_a_failing_run_wrote(tmp_path, mode, debug_log):
    from intent_pipeline.settings import Settings

    settings = Settings.from_env({"INTENT_HOME": str(tmp_path)})
    write_segment(settings.warehouse, make_rows(12, hot_every=4))
    if mode == "refused":
        raised = run_everything(settings, refused_url(), timeout=5)
        requests_seen = None
    else:
        # "timeout": each of the run's ~30 requests costs the client's timeout, so it is short; the answer
        # comes 3x later; the requests are read as they arrived (the last ones are still unanswered)
        with FailingServer(mode, delay=0.15) as server:
            raised = run_everything(settings, server.url, timeout=0.05 if mode == "timeout" else 0.2)
            requests_seen = server.received
    if requests_seen is not None:  # the canaries did go out (and came back in the echoes)
        echoed = "\n".join(FailingServer.echo(r) for r in requests_seen)
        assert {name for name, canary in CANARIES.items() if canary in echoed} >= {
            "hubspot", "dingtalk", "wecom", "feishu", "slack", "salesforce"}  # fmt: skip
    texts = written_texts(tmp_path)
    texts["raised"] = "\n".join(raised)
    assert debug_log.stat().st_size > 0 and any(str(debug_log) == where for where in texts)
    with sqlite3.connect(settings.ledger_path) as db:
        assert db.execute("select count(*) from activation_runs").fetchone()[0] == 7  # every destination ran
    assert canaries_in(texts) == []


def test_the_canary_search_finds_a_secret_where_there_is_one(tmp_path):
    """The search above can fail: a canary written anywhere under the run's folder is found."""
    (tmp_path / "state").mkdir()
    with sqlite3.connect(tmp_path / "state" / "x.sqlite") as db:
        db.execute("create table t (reason text)")
        db.execute("insert into t values (?)", (f"POST /robot/send?access_token={CANARIES['dingtalk']}",))
    (tmp_path / "run.log").write_text(f"Authorization: Bearer {CANARIES['hubspot']}")
    assert sorted(name for _, name in canaries_in(written_texts(tmp_path))) == ["dingtalk", "dingtalk", "hubspot"]
