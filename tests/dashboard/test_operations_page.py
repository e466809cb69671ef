"""The operations page's identity health, cut links and quarantine equal their marts.

Reuses the dashboard tests' session fixtures (``conftest.py``: the sample's serving copy, the build,
the rendered pages, made once per test run for both files): the
page's tables carry the raw values (``data-value``), compared here with the published Parquet of
``marts.identity_health_daily``, ``marts.identity_cut_links`` and ``marts.quarantine_daily``, and
the quarantine mart with the extract manifests of the sample's lake.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def marts(parquet: Path):
    import duckdb

    con = duckdb.connect()
    for path in parquet.glob("*.parquet"):
        con.execute(f"create view \"{path.stem}\" as select * from read_parquet('{path}')")
    return con


def shown(report, label: str, keys: list[str]) -> list[tuple]:
    table = next((t for t in report.state["tables"] if t["label"] == label), None)
    assert table is not None, f"the operations page has no table {label}"
    return [tuple(row[key]["value"] for key in keys) for row in table["cells"]]


def test_operations_page_draws_the_new_charts(rendered: dict) -> None:
    charts = {chart["label"]: chart for chart in rendered["operations"].state["charts"]}
    for label in ("identity-changes", "cut-links", "quarantine"):
        assert label in charts, f"no chart {label}: {sorted(charts)}"
        assert charts[label]["rows"] > 0 and charts[label]["marks"] > 0, charts[label]
    text = rendered["operations"].state["text"]
    for mart in ("marts.identity_health_daily", "marts.identity_cut_links", "marts.quarantine_daily"):
        assert mart in text, f"the page does not name {mart}"


def test_identity_health_per_day_equals_the_mart(built: dict, rendered: dict) -> None:
    keys = ["day", "people", "merges", "splits", "links_cut"]
    sql = f"select {', '.join(keys)} from identity_health_daily order by day"
    expected = marts(built["parquet"]).execute(sql).fetchall()
    assert len(expected) == 2, "two days of the sample: a row per day"
    assert all(row[1] > 0 for row in expected), expected
    rows = shown(rendered["operations"], "identity-health-daily", keys)
    assert rows == [(day.isoformat(), *rest) for day, *rest in expected]


def test_cut_links_by_reason_equal_the_mart(built: dict, rendered: dict) -> None:
    keys = ["reason_kind", "identifier_type", "links"]
    expected = (
        marts(built["parquet"])
        .execute(
            "select reason_kind, identifier_type, links from identity_cut_links "
            "where day = (select max(day) from identity_cut_links)"
        )
        .fetchall()
    )
    assert expected and sum(row[2] for row in expected) > 0, "the sample cuts no link: the check would prove nothing"
    assert sorted(shown(rendered["operations"], "cut-links", keys)) == sorted(expected)


def test_quarantine_per_source_equals_the_mart_and_the_manifests(built: dict, rendered: dict) -> None:
    keys = ["interval_start", "source", "table_name", "rows_read", "rows_loaded", "rows_quarantined"]
    expected = (
        marts(built["parquet"])
        .execute(f"select {', '.join(keys)} from quarantine_daily order by interval_start, source, table_name")
        .fetchall()
    )
    assert sum(row[5] for row in expected) > 0, "the sample quarantines nothing: the check would prove nothing"
    assert shown(rendered["operations"], "quarantine-daily", keys) == [(d.isoformat(), *rest) for d, *rest in expected]
    # the mart is the extracts' own accounting: the manifests of the sample's lake, table by table
    manifests = {}
    for path in sorted((built["home"] / "data" / "lake" / "manifests").glob("*/dt=*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for table, counts in document["tables"].items():
            manifests[(document["interval_start"], document["source"], table)] = (
                counts["read"], counts["loaded"], counts["quarantined"])  # fmt: skip
    assert {(d.isoformat(), s, t): tuple(rest) for d, s, t, *rest in expected} == manifests


def test_the_dags_rebuild_task_builds_the_pages_from_the_serving_copy(built: dict, tmp_path: Path) -> None:
    """``build_dashboard``'s function (INTENT_DASHBOARD_BUILD on) runs dashboard/build.sh on the
    sample's serving copy. The session's site was its first build (``site.py``: written where
    INTENT_DASHBOARD_OUT says, from the published version); here the next run's rebuild replaces a
    copy of it, a file the rebuild does not make included."""
    import os
    import shutil

    from intent_pipeline import dashboard

    site = tmp_path / "site"
    shutil.copytree(built["dist"], site)
    first = {path.relative_to(site) for path in site.rglob("*") if path.is_file()}
    (site / "left-from-an-old-build.html").write_text("<p>old</p>")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env.update(INTENT_HOME=str(built["home"]), INTENT_DASHBOARD_BUILD="1", INTENT_DASHBOARD_OUT=str(site))
    # the next run rebuilds over it (Framework alone refuses to write over a build outside dashboard/)
    again = dashboard.build(env)
    assert again["site"] == str(site)
    assert {path.relative_to(site) for path in site.rglob("*") if path.is_file()} == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"], "a temporary or old folder was left behind"
    assert Path(again["parquet"]) == built["parquet"]
    pages = {path.name for path in site.glob("*.html")}
    assert {"index.html", "operations.html"} <= pages
    # the loaders ran against that version: the page's data file holds the mart's rows
    data = [json.loads(path.read_text(encoding="utf-8")) for path in site.rglob("operations*.json")]
    assert len(data) == 1, sorted(str(p) for p in site.rglob("*.json"))
    days = marts(built["parquet"]).execute("select count(*) from identity_health_daily").fetchone()[0]
    assert data[0]["identity_daily"]["mart"] == "marts.identity_health_daily"
    assert len(data[0]["identity_daily"]["rows"]) == days == 2
