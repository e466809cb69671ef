"""The dashboards built from the sample's serving copy and rendered in headless Chromium.

One module fixture generates a small sample, runs two days through the DAG's task functions
(``sample.py``: the serving copy is published as the DAG publishes it), builds the dashboards
with ``dashboard/build.sh`` (what ``make dashboard`` runs) and renders every page in Chromium
with a fresh profile and no network beyond loopback. A page fails on any error box, any chart
without marks, any console error (a resource it tried to load from outside included) or warning
(Observable Plot's, when data do not fit a chart's scales). A
screenshot of every page is kept in ``data/reports/dashboard/``.

Needs ``dashboard/node_modules`` (``npm ci`` in dashboard/, which ``scripts/test.sh`` runs) and
Debian's ``chromium``: without them the test fails and says what to install, it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dashboard.browser import BrowserMissing, Chromium, StaticServer, chromium_binary
from tests.dashboard.sample import build_sample

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
ARTEFACTS = ROOT / "data" / "reports" / "dashboard"
PAGES = {
    "overview": "index.html",
    "intent": "intent.html",
    "funnel": "funnel.html",
    "channels": "channels.html",
    "operations": "operations.html",
}
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
    "overview": ["marts.people", "marts.lead_scores", "marts.segment_funnel_stalls", "marts.activation_runs"],
    "intent": ["marts.lead_scores", "marts.lead_score_history", "marts.segment_high_intent",
               "marts.lead_conversion_report"],
    "funnel": ["marts.funnel_conversion", "marts.funnel_dropoff", "marts.segment_funnel_stalls"],
    "channels": ["marts.channel_attribution", "marts.channel_attribution_monthly"],
    "operations": ["marts.activation_runs", "marts.activation_rejects", "marts.people", "marts.lead_score_history"],
}  # fmt: skip

pytestmark = pytest.mark.slow


def _require_tools() -> None:
    missing = []
    if not (DASHBOARD / "node_modules" / ".package-lock.json").exists():
        missing.append("dashboard/node_modules (run: cd dashboard && npm ci; scripts/test.sh does)")
    if shutil.which("npm") is None:
        missing.append("node and npm (Debian: apt-get install -y nodejs npm)")
    try:
        chromium_binary()
    except BrowserMissing as error:
        missing.append(str(error))
    if missing:
        pytest.fail("the dashboard test needs: " + "; ".join(missing), pytrace=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The sample's serving copy and the dashboards built from it."""
    _require_tools()
    home = tmp_path_factory.mktemp("dashboard-sample")
    serving = build_sample(home, people=600, days=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env["INTENT_HOME"] = str(home)
    env["DASHBOARD_OUT"] = str(home / "dist")  # not the developer's dashboard/dist
    done = subprocess.run([str(DASHBOARD / "build.sh")], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"dashboard/build.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    parquet = (serving / "parquet" / "current").resolve()
    assert f"reading {parquet}" in done.stdout, done.stdout[-2000:]
    assert (home / "dist" / "index.html").exists(), "the build wrote no index.html"
    return {"home": home, "parquet": parquet, "dist": home / "dist"}


@pytest.fixture(scope="module")
def rendered(built: dict) -> dict:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    reports = {}
    with StaticServer(built["dist"]) as server, Chromium() as browser:
        for name, path in PAGES.items():
            reports[name] = browser.render(server.url(path), screenshot=ARTEFACTS / f"{name}.png")
    return reports


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
    _require_tools()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env["INTENT_HOME"] = str(tmp_path)
    done = subprocess.run([str(DASHBOARD / "build.sh")], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "no published serving copy" in done.stderr and "make run" in done.stderr
