"""The dashboards built from the sample's serving copy and rendered in headless Chromium.

The session fixtures of ``conftest.py`` (shared with ``test_operations_page.py``: one build per
test run) generate a small sample, run two days through the DAG's task functions (``sample.py``:
the serving copy is published as the DAG publishes it), build the dashboards with
``dashboard/build.sh`` (what ``make dashboard`` runs) and render every page in Chromium with a
fresh profile and no network beyond loopback. A page fails on any error box, any chart
without marks, any console error (a resource it tried to load from outside included) or warning
(Observable Plot's, when data do not fit a chart's scales). A
screenshot of every page is kept in ``data/reports/dashboard/``.

Needs ``dashboard/node_modules`` (``npm ci`` in dashboard/, which ``scripts/test.sh`` runs) and
Debian's ``chromium``: without them the test fails and says what to install, it never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.dashboard.site import DASHBOARD, PAGES, ROOT, require_tools

# every chart each page must draw (an error box or a missing chart fails the page)
CHARTS = {
    "overview": {"hot-lead-gauge", "grades"},
    "intent": {"score-distribution", "intent-matrix", "grade-trend", "conversion-per-grade"},
    "funnel": {"funnel", "dropoff", "breakdown-cohort_week", "breakdown-channel", "breakdown-industry",
               "breakdown-grade"},
    "channels": {"models", "monthly-trend"},
    "operations": {"activation", "people-per-day", "quarantine"},
}  # fmt: skip
MARTS = {
    "overview": ["marts.people", "marts.lead_scores", "marts.segment_funnel_stalls", "marts.activation_runs",
                 "marts.quality_gate_results"],
    "intent": ["marts.lead_scores", "marts.lead_score_history", "marts.segment_high_intent",
               "marts.lead_conversion_report"],
    "funnel": ["marts.funnel_conversion", "marts.funnel_dropoff", "marts.segment_funnel_stalls"],
    "channels": ["marts.channel_attribution", "marts.channel_attribution_monthly"],
    "operations": ["marts.activation_runs", "marts.activation_rejects", "marts.people", "marts.lead_score_history"],
}  # fmt: skip

pytestmark = pytest.mark.slow


def marts(parquet: Path):
    import duckdb

    con = duckdb.connect()
    for path in parquet.glob("*.parquet"):
        con.execute(f"create view \"{path.stem}\" as select * from read_parquet('{path}')")
    return con


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_without_errors(rendered: dict, page: str) -> None:
    report = rendered[page]
    state = report.state
    assert state.get("ready"), f"{page}: the page did not finish rendering: {state.get('text', '')[:500]}"
    assert state["errors"] == [], f"{page}: error boxes: {state['errors']}"
    assert report.console_errors == [], f"{page}: console errors: {report.console_errors}"
    # Plot warns (and draws a ⚠) when a chart's data do not fit its scales: a chart to fix
    assert report.console_warnings == [], f"{page}: console warnings: {report.console_warnings}"
    charts = {chart["label"]: chart for chart in state["charts"]}
    assert CHARTS[page] <= set(charts), f"{page}: charts missing: {CHARTS[page] - set(charts)}"
    empty = [label for label, chart in charts.items() if chart["rows"] <= 0 or chart["marks"] <= 0]
    assert empty == [], f"{page}: empty charts: {empty}"
    for mart in MARTS[page]:
        assert mart in state["text"], f"{page} does not say it reads {mart}"
    assert report.screenshot is not None and report.screenshot.stat().st_size > 10_000


def test_labels_are_chinese_and_english(rendered: dict) -> None:
    for page, report in rendered.items():
        title = report.state["title"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in title), f"{page}: no Chinese in the title {title!r}"
        assert any(ch.isascii() and ch.isalpha() for ch in title), f"{page}: no English in the title {title!r}"


def test_overview_hot_lead_count_equals_the_mart(built: dict, rendered: dict) -> None:
    con = marts(built["parquet"])
    expected = con.execute("select count(*) from lead_scores where grade = 'high_intent'").fetchone()[0]
    assert expected > 0, "the sample has no high-intent lead: the check would prove nothing"
    state = rendered["overview"].state
    assert state["hot_lead_count"] == str(expected)
    assert state["kpis"]["high_intent"] == str(expected)


def test_funnel_step_counts_equal_the_mart(built: dict, rendered: dict) -> None:
    con = marts(built["parquet"])
    expected = con.execute(
        "select stage, people from funnel_conversion where breakdown = 'overall' order by stage_order"
    ).fetchall()
    table = next(t for t in rendered["funnel"].state["tables"] if t["label"] == "funnel-steps")
    shown = [(row["stage"]["value"], row["people"]["value"]) for row in table["cells"]]
    assert shown == [tuple(row) for row in expected]
    assert len(expected) >= 2 and expected[0][1] > 0, "no funnel in the sample: the check would prove nothing"


def test_channel_page_markov_credits_equal_the_mart(built: dict, rendered: dict) -> None:
    con = marts(built["parquet"])
    expected = dict(
        con.execute(
            "select channel, conversions from channel_attribution where attribution_model = 'markov'"
        ).fetchall()
    )
    assert expected and sum(expected.values()) > 0, "the sample has no Markov credit: the check would prove nothing"
    table = next(t for t in rendered["channels"].state["tables"] if t["label"] == "markov-credits")
    shown = {row["channel"]["value"]: row["conversions"]["value"] for row in table["cells"]}
    assert shown == expected


def test_overview_quality_gates_are_the_marts_verdicts_of_the_published_run(built: dict, rendered: dict) -> None:
    """The overview's gates come from marts.quality_gate_results, both gates of the published run (the
    marts gate's added by publish), and its failed expectations are those of the gates' own reports."""
    con = marts(built["parquet"])
    (interval,) = con.execute("select cast(max(interval_start) as varchar) from quality_gate_results").fetchone()
    published = json.loads((built["home"] / "data" / "serving" / "published.json").read_text(encoding="utf-8"))
    assert interval == published["interval_start"], "the served mart lacks the published run's verdicts"
    layers = con.execute(
        "select layer, count(*) filter (where not success and is_critical) = 0, count(distinct suite), count(*), "
        "count(*) filter (where not success and is_critical), count(*) filter (where not success and not is_critical) "
        "from quality_gate_results where interval_start = cast(? as date) group by layer order by layer desc",
        [interval],
    ).fetchall()
    assert [row[0] for row in layers] == ["raw", "marts"], "a gate of the published run is missing"
    keys = ["layer", "passed", "suites", "expectations", "critical_failed", "warnings_failed"]
    assert shown(rendered["overview"], "quality", keys) == [tuple(row) for row in layers]
    failed = con.execute(
        "select layer, suite, expectation, unexpected_count from quality_gate_results "
        "where interval_start = cast(? as date) and not success order by layer, is_critical desc, suite, "
        "expectation_number",
        [interval],
    ).fetchall()
    assert failed, "the sample's last run failed no expectation: the check would prove nothing"
    keys = ["layer", "suite", "expectation", "unexpected_count"]
    assert shown(rendered["overview"], "quality-failed", keys) == [tuple(row) for row in failed]
    # ... and they are the gates' own: every failed expectation of the run's reports, none other
    reports = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (built["home"] / "data" / "reports" / "quality" / f"dt={interval}").glob("*.json")
    ]
    from_reports = sorted(
        (report["layer"], table, result["expectation"], result["unexpected_count"])
        for report in reports for table, t in report["tables"].items() for result in t["results"]
        if not result["success"]
    )  # fmt: skip
    assert sorted(tuple(row) for row in failed) == from_reports


def shown(report, label: str, keys: list[str]) -> list[tuple]:
    table = next((t for t in report.state["tables"] if t["label"] == label), None)
    assert table is not None, f"the page has no table {label}"
    return [tuple(row[key]["value"] for key in keys) for row in table["cells"]]


def test_dbt_exposures_point_at_the_pages_and_their_marts(rendered: dict) -> None:
    """Every dashboard exposure's URL is a page of the build, and the page names each mart it depends on."""
    import re
    from urllib.parse import urlparse

    import yaml

    exposures = yaml.safe_load((ROOT / "dbt_project" / "models" / "exposures.yml").read_text(encoding="utf-8"))
    dashboards = [e for e in exposures["exposures"] if e["type"] == "dashboard"]
    assert len(dashboards) == len(PAGES)
    by_file = {path: page for page, path in PAGES.items()}
    for exposure in dashboards:
        path = urlparse(exposure["url"]).path.lstrip("/") or "index.html"
        assert path in by_file, f"{exposure['name']}: {exposure['url']} is no page of the dashboard"
        text = rendered[by_file[path]].state["text"]
        for ref in exposure["depends_on"]:
            mart = re.fullmatch(r"ref\('(\w+)'\)", ref).group(1)
            assert f"marts.{mart}" in text, f"{exposure['name']}: the page does not read marts.{mart}"


def test_build_refuses_without_a_serving_copy(tmp_path: Path) -> None:
    require_tools()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env["INTENT_HOME"] = str(tmp_path)
    done = subprocess.run([str(DASHBOARD / "build.sh")], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "no published serving copy" in done.stderr and "make run" in done.stderr
