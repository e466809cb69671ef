"""GA4 session attribution: the hand-solved cases of ga4_session_cases.yml through the real web
extract and dbt (intent_pipeline.ga4_session_cases), and the runner's own checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from intent_pipeline.ga4_session_cases import CaseError, compare, export_line, ga4_session_cases, load_cases

# the test run's parse of the dbt project (tests/dbt/conftest.py), copied into each scratch folder:
# dbt then re-parses only the files that read a changed env var instead of the whole project
from tests.dbt.conftest import _seed_partial_parse, dbt_parse_cache  # noqa: F401 (fixture)

CASES = Path(__file__).with_name("ga4_session_cases.yml")


def test_at_least_30_cases_covering_the_issue():
    cases = load_cases(CASES)
    assert len(cases) >= 30
    names = " ".join(case["name"] for case in cases)
    for topic in ("previous_paid_click", "lookback_expired", "lookback_exactly_90_days", "campaign_in_url_only",
                  "cross_domain", "payment_page", "export_last_click", "event_params", "gbraid", "wbraid", "dclid",
                  "srsltid", "first_user"):  # fmt: skip
        assert topic in names, topic
    origins = {e.get("origin") for case in cases for e in case["expect"]}
    assert {"session", "previous_session", "ga4_last_click", "direct"} <= origins


@pytest.mark.slow
def test_every_case_passes_through_the_extract_and_dbt(tmp_path):
    _seed_partial_parse(tmp_path)
    cases, passed, problems = ga4_session_cases(CASES, workdir=tmp_path)
    assert problems == {}
    assert passed == cases >= 30


@pytest.mark.slow
def test_a_wrong_expectation_fails(tmp_path):
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    chosen = next(c for c in cases if c["name"] == "direct_return_credited_to_previous_paid_click")
    chosen["expect"] = [{"session": 2, "channel": "Direct", "origin": "direct"}]
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(yaml.safe_dump([chosen]), encoding="utf-8")
    _seed_partial_parse(tmp_path / "run")
    count, passed, problems = ga4_session_cases(wrong, workdir=tmp_path / "run")
    assert (count, passed) == (1, 0)
    assert problems["direct_return_credited_to_previous_paid_click"] == [
        "session 2: channel 'Paid Search', expected 'Direct'",
        "session 2: origin 'previous_session', expected 'direct'",
    ]


def test_compare_reports_missing_sessions_and_differences():
    cases = [{"name": "c", "events": [], "expect": [{"session": 1, "channel": "Email"}, {"session": 2, "source": "x"}]}]
    rows = {"c:1": {"default_channel_group": "Direct", "source": "(direct)"}}
    assert compare(cases, rows) == {"c": ["session 1: channel 'Direct', expected 'Email'", "session 2: no row c:2"]}
    matching = [{**cases[0], "expect": cases[0]["expect"][:1]}]
    assert compare(matching, {"c:1": {"default_channel_group": "Email"}}) == {"c": []}


def test_bad_case_files_are_refused(tmp_path):
    path = tmp_path / "cases.yml"
    path.write_text("- {name: a, events: [{session: 1, at: '2026-11-01 10:00', utm: x}], expect: [{session: 1}]}\n")
    with pytest.raises(CaseError, match="unknown keys"):
        load_cases(path)
    path.write_text("- {name: a, events: [{session: 1, at: '2026-11-01 10:00'}], expect: [{session: 2}]}\n")
    with pytest.raises(CaseError, match="no such session"):
        load_cases(path)


def test_export_lines_have_the_ga4_shape():
    event = {"session": 3, "at": "2026-11-01 10:00", "url": "https://a/?gclid=1", "collected": {"source": "s"},
             "last_click": {"manual_campaign": {"source": "b"}}}  # fmt: skip
    line = export_line("u", event)
    assert line["event_timestamp"] == "1793527200000000" and line["event_date"] == "20261101"
    assert {"key": "ga_session_id", "value": {"int_value": "3"}} in line["event_params"]
    assert line["collected_traffic_source"]["manual_source"] == "s"
    assert line["session_traffic_source_last_click"] == {"manual_campaign": {"source": "b"}}
