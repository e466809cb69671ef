"""The quality gates' verdicts travel from the gate to ``marts.quality_gate_results`` and the serving copy.

A real raw lake (``tests/dbt/conftest.py``'s hand-written one) with one planted violation (a form
tool outside the accepted set: a warning of ``expectations/raw/forms_submissions.json``), the real
raw gate (GX), a real ``dbt build`` of the staging model and the mart, the real marts gate on that
build and the real ``publish``. The overview page that shows the mart is checked in
``test_dashboard.py`` (headless Chromium on the sample).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.dbt.conftest import build_lake, run_dbt

DAY = date(2026, 11, 21)
PLANTED = "excel_macro"  # not a form tool of the suite's set
MODELS = ("--select", "stg_quality__gate_results quality_gate_results")

pytestmark = pytest.mark.slow


def plant_unknown_form_tool(lake: Path) -> int:
    """Give the first form of the interval an unknown form tool; returns how many rows were changed."""
    import pyarrow.parquet as pq

    (path,) = (lake / "raw" / "forms_submissions" / f"dt={DAY}").glob("*.parquet")
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["form_tool"] = PLANTED
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    return 1


def mart_rows(warehouse: Path, where: str = "true") -> list[dict]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f"select * from marts.quality_gate_results where {where} order by all")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_violated_expectation_reaches_the_mart_and_the_serving_copy(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from intent_pipeline.quality import validate_marts, validate_raw
    from intent_pipeline.quality.verdicts import COLUMNS, verdict_path
    from intent_pipeline.serving import publish
    from intent_pipeline.settings import Settings

    lake, base = tmp_path / "lake", tmp_path / "build"
    build_lake(lake)
    warehouse = base / "warehouse.duckdb"

    # before any gate ran, the mart builds empty (no verdict file: the macro's empty relation)
    done = run_dbt(base, lake, "build", *MODELS)
    assert done.returncode == 0, done.stdout[-4000:]
    assert mart_rows(warehouse) == []

    settings = Settings.from_env({"INTENT_HOME": str(tmp_path / "home"), "INTENT_LAKE_DIR": str(lake),
                                  "INTENT_WAREHOUSE": str(warehouse)})  # fmt: skip
    planted = ("forms_submissions", "expect_column_values_to_be_in_set", "form_tool", "warning")

    def failed(report: dict) -> dict[tuple, int]:
        return {
            (table, r["expectation"], r["column"], r["severity"]): r["unexpected_count"]
            for table, t in report["tables"].items() for r in t["results"] if not r["success"]
        }  # fmt: skip

    clean = failed(validate_raw(settings, DAY, run_id="manual__first"))
    assert planted not in clean
    changed = plant_unknown_form_tool(lake)
    # a re-run of the interval's gate replaces its verdict file: one file, the last run's rows
    report = validate_raw(settings, DAY, run_id="manual__again")
    assert failed(report) == {**clean, planted: changed}
    raw_file = verdict_path(lake, "raw", DAY)
    assert sorted(p.name for p in raw_file.parent.iterdir()) == [raw_file.name]
    record = pq.read_table(raw_file)
    # counts only: no failing value (examples can be personal data) reaches the lake
    assert record.column_names == [name for name, _, _ in COLUMNS]
    assert PLANTED not in json.dumps(record.to_pylist(), default=str)
    expected_rows = sum(len(t["results"]) for t in report["tables"].values())
    assert record.num_rows == expected_rows and set(record.column("run_id").to_pylist()) == {"manual__again"}

    # the build of the same run reads the raw gate's verdict
    done = run_dbt(base, lake, "build", *MODELS)
    assert done.returncode == 0, done.stdout[-4000:]
    rows = mart_rows(warehouse)
    assert len(rows) == expected_rows
    assert {(r["layer"], r["interval_start"], r["run_id"]) for r in rows} == {("raw", DAY, "manual__again")}
    broken = {(r["suite"], r["expectation"], r["column_name"], r["severity"]): r for r in rows if not r["success"]}
    assert {key: row["unexpected_count"] for key, row in broken.items()} == failed(report)
    assert broken[planted]["is_critical"] is False and broken[planted]["rows_checked"] >= changed

    # the marts gate runs after the build (here: on a build without the marts it checks, a critical
    # failure per missing table); its verdict is not in the build, publish puts it into the serving copy
    marts_report = validate_marts(settings, DAY, tables=["lead_scores"], run_id="manual__again")
    assert marts_report["critical_failures"] == 1  # lead_scores: table_exists (people is read, not checked)
    assert mart_rows(warehouse, "layer = 'marts'") == []
    serving = tmp_path / "serving"
    manifest = publish(warehouse, serving, run_id="manual__again", interval_start=DAY.isoformat(), lake_dir=lake,
                       mask=False)  # fmt: skip
    marts_rows = sum(len(t["results"]) for t in marts_report["tables"].values())
    assert manifest["gate_verdicts_added"] == expected_rows + marts_rows
    served = pq.read_table(Path(manifest["parquet"]) / "quality_gate_results.parquet").to_pylist()
    assert manifest["marts"]["quality_gate_results"] == len(served) == expected_rows + marts_rows
    by_layer = {layer: [r for r in served if r["layer"] == layer] for layer in ("raw", "marts")}
    assert len(by_layer["raw"]) == expected_rows, "the raw verdict was not replaced but doubled"
    assert [(r["suite"], r["expectation"], r["is_critical"]) for r in by_layer["marts"] if not r["success"]] == [
        ("lead_scores", "table_exists", True)
    ]
    assert [r["unexpected_count"] for r in by_layer["raw"] if r["column_name"] == "form_tool" and not r["success"]] == [
        changed
    ]
