"""A lake whose path holds a space and a single quote, as an outside user's might
(``/home/o'brien/my lake``): the build reads it, the view still over the lake (the gates' verdicts,
``stg_quality__gate_results``; the other staging models are incremental tables) keeps its absolute path,
and a reader in another working directory reads it (macros/lake.sql, docs/dbt-parse.md).

Compared with the session's ``warehouse`` (the same hand-written lake at a plain path): every table
and every staging view equal row for row after a first build, and the incremental models equal
after a re-run of the same day (an incremental run lists the window's files with ``glob()`` and
passes them one by one: the quote must survive both). A relative ``INTENT_LAKE_DIR`` is refused
with a clear error instead of views that only a reader in the build's directory can read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.dbt.conftest import (
    INCREMENTAL_MODELS,
    INCREMENTAL_RELATIONS,
    WAREHOUSE_FILE,
    WITHOUT_UNIT_TESTS,
    Build,
    build_lake,
    run_dbt,
)

pytestmark = pytest.mark.slow

LAKE_NAME = "O'Brien's lake dir"


def staging_views(build: Build) -> list[str]:
    rows = build.query(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_type = 'VIEW' and table_schema = 'staging' order by 1"
    )
    return [row[0] for row in rows]


@pytest.fixture(scope="module")
def quoted(tmp_path_factory, dbt_parse_cache) -> dict:
    base = tmp_path_factory.mktemp("lake path") / "a build"
    lake = base / LAKE_NAME
    build_lake(lake)
    first = run_dbt(base, lake, "build", *WITHOUT_UNIT_TESTS)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    build = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=lake, build=first)
    after_first = build.rows(*build.tables(), *staging_views(build))
    # the same day again, the incremental models only (what differs from a first build): they list the
    # window's files and pass them one by one
    again = run_dbt(base, lake, "run", "--select", *INCREMENTAL_MODELS)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
    return {"build": build, "first": after_first}


def test_the_path_really_has_a_space_and_a_quote(quoted):
    lake: Path = quoted["build"].lake
    assert " " in str(lake) and "'" in str(lake) and lake.is_absolute()
    assert list(lake.glob("raw/web_events/dt=*/*.parquet"))


@pytest.fixture(scope="module")
def gate_view(quoted) -> Build:
    """The one staging view that still reads the lake (CRM staging became incremental tables in session
    33): ``stg_quality__gate_results`` over the gates' verdict files, built again once the quoted lake
    holds one (a gate's record, written by the gates' writer ``quality.verdicts.write_verdicts``)."""
    from intent_pipeline.quality.verdicts import write_verdicts

    build = quoted["build"]
    report = {"interval_start": "2026-11-20", "layer": "raw", "tables": {"forms_submissions": {"results": [
        {"expectation": "expect_column_values_to_not_be_null", "column": "submission_id", "severity": "critical",
         "success": True, "rows_checked": 3, "unexpected_count": 0, "unexpected_percent": 0.0}]}}}  # fmt: skip
    write_verdicts(build.lake, report, run_id="lake-path")
    done = run_dbt(build.base, build.lake, "run", "--select", "stg_quality__gate_results")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return build


def test_views_keep_the_absolute_path(gate_view, tmp_path):
    # every view that reads the lake (any schema) holds its absolute, quoted path, or it breaks when read
    # from another working directory; there is one at least (an empty list proves nothing)
    views = gate_view.query(
        "select schema_name || '.' || view_name, sql from duckdb_views()"
        " where not internal and sql like '%read_parquet%'"
    )
    assert "staging.stg_quality__gate_results" in [name for name, _ in views], views
    escaped = str(gate_view.lake).replace("'", "''")
    assert all(escaped in text for _, text in views), views
    # read by a BI process in another working directory than the build's (dbt ran in the build's folder)
    reader = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); print(con.execute("
              "'select count(*), min(run_id) from staging.stg_quality__gate_results').fetchone())")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", reader, str(gate_view.warehouse)], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 'lake-path')"


def test_every_table_and_view_equals_the_plain_path_build(quoted, warehouse):
    assert warehouse.build.returncode == 0, warehouse.output
    first = quoted["first"]
    # read here, in pytest's working directory, not in the folder dbt ran in
    plain = warehouse.rows(*warehouse.tables(), *staging_views(warehouse))
    assert sorted(first) == sorted(plain)
    assert first["staging.stg_forms__submissions"] and first["staging.stg_web__events"]
    assert [name for name in first if first[name] != plain[name]] == []


def test_an_incremental_run_reads_the_window_through_the_quote(quoted, warehouse):
    build = quoted["build"]
    mine, theirs = build.rows(*INCREMENTAL_RELATIONS), warehouse.rows(*INCREMENTAL_RELATIONS)
    for relation in INCREMENTAL_RELATIONS:
        assert mine[relation] == theirs[relation], relation


def test_a_relative_lake_path_is_refused(quoted):
    build = quoted["build"]
    done = run_dbt(build.base, build.lake, "run", "--select", "stg_forms__submissions",
                   extra_env={"INTENT_LAKE_DIR": LAKE_NAME})  # fmt: skip
    assert done.returncode != 0
    assert "INTENT_LAKE_DIR must be an absolute path" in done.stdout + done.stderr
