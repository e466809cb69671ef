"""The dashboard tests' shared site: the sample, its build and its rendered pages, made once.

The sample (``sample.py``'s :func:`~tests.dashboard.sample.shared_sample`: two days through the
DAG's task functions) and ``dashboard/build.sh`` (run by the DAG's ``build_dashboard`` function)
take minutes; rendering the five pages in Chromium some seconds more. Every test file of
``tests/dashboard/`` reads the same ones: :func:`build_site` and :func:`render_site` make them
under a file lock in a folder shared by every xdist worker of the test run and leave a record
(``built.json``, ``rendered.json``) that the next caller reads instead. A failed build leaves no
record: the next caller tries again and fails with the same message.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.dashboard.browser import BrowserMissing, Chromium, PageReport, StaticServer, chromium_binary
from tests.shared import made_once

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


def require_tools() -> None:
    """Fail (never skip) saying what to install when npm, the packages or chromium are missing."""
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


def _build(folder: Path, shared: Path) -> dict[str, Path]:
    from intent_pipeline import dashboard

    from tests.dashboard.sample import shared_sample

    home = shared_sample(shared)  # the test run's sample (sample.py), made once
    # through the DAG's build_dashboard function (what its task runs: dashboard/build.sh, what `make
    # dashboard` runs), into a folder of its own (not the developer's dashboard/dist)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env.update(INTENT_HOME=str(home), INTENT_DASHBOARD_BUILD="1", INTENT_DASHBOARD_OUT=str(folder / "dist"))
    try:
        result = dashboard.build(env)
    except dashboard.DashboardBuildFailed as error:
        pytest.fail(f"the dashboard build failed: {error}", pytrace=False)
    dist = folder / "dist"
    assert result["site"] == str(dist), result
    parquet = (home / "data" / "serving" / "parquet" / "current").resolve()
    # the build read the published version (build.sh says which), and the site is where the setting says
    assert result["parquet"] == str(parquet), result
    assert (dist / "index.html").exists(), "the build wrote no index.html"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".dist.")) == [], "a temporary folder was left"
    return {"home": home, "parquet": parquet, "dist": dist}


def build_site(shared: Path) -> dict[str, Path]:
    """The sample's serving copy (:func:`tests.dashboard.sample.shared_sample`) and the dashboards
    built from it, made once under ``shared`` (the test run's folder every xdist worker shares,
    :func:`tests.shared.shared_folder`):
    ``{"home": INTENT_HOME of the sample, "parquet": the published version the build read, "dist": the site}``."""
    require_tools()
    folder = shared / "dashboard-site"
    record = folder / "built.json"

    def build() -> None:
        shutil.rmtree(folder / "dist", ignore_errors=True)  # a failed attempt's leftovers
        site = _build(folder, shared)
        record.write_text(json.dumps({key: str(value) for key, value in site.items()}))

    made_once(folder, record, build)
    return {key: Path(value) for key, value in json.loads(record.read_text()).items()}


def render_site(site: dict[str, Path]) -> dict[str, PageReport]:
    """Every page of ``site`` rendered in headless Chromium, a screenshot each in ``ARTEFACTS``; made once."""
    record = site["dist"].parent / "rendered.json"

    def render() -> None:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        reports = {}
        with StaticServer(site["dist"]) as server, Chromium() as browser:
            for name, path in PAGES.items():
                reports[name] = browser.render(server.url(path), screenshot=ARTEFACTS / f"{name}.png")
        record.write_text(json.dumps({name: asdict(report) for name, report in reports.items()}, default=str))

    made_once(record.parent, record, render)
    saved = json.loads(record.read_text())
    return {
        name: PageReport(**{**report, "screenshot": Path(report["screenshot"]) if report["screenshot"] else None})
        for name, report in saved.items()
    }
