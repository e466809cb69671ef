"""A 3-day backfill under the real scheduler, with a BI reader on the serving copy: no day skipped,
and each day's saved summary is that day's (the outside check of the last round's lesson).

tests/test_scheduler.py checks that every interval ran exactly once, the writers one at a time and
the BI reader never blocked, on the same scenario (bench/operations.py). It does not look at what
each day's run reported. Here, on a tiny sample (40 people) on an Airflow of its own (api-server,
scheduler, dag-processor, LocalExecutor, SQLite), each day's summary (``reports/runs/dt=D.json``,
what ``make run`` and ``summary --date D`` print) must name its own interval and its own successful
run, and its rows read per source must equal a count of that day's landing files made here,
independently of the extractors (CSV rows, JSON array items, JSON lines, XLSX rows).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, seed_dbt_parse
from tests.benches import load_bench
from tests.shared import shared_folder

pytestmark = pytest.mark.slow

DAYS = 3
PEOPLE = 40
SOURCES = ("forms", "email", "web", "crm")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    bench = load_bench("operations")
    metadata = airflow_metadata(tmp_path_factory)
    with bench.start(tmp_path_factory.mktemp("airflow"), metadata=metadata) as deployment:
        seed_dbt_parse(shared_folder(tmp_path_factory), deployment.home)
        figures = bench.run(people=PEOPLE, days=DAYS, base=tmp_path_factory.mktemp("operations"), timeout=2400,
                            deployment=deployment)  # fmt: skip
    days = [(bench.LAST_DAY - timedelta(days=n)).isoformat() for n in reversed(range(DAYS))]
    env = {**deployment.env, "INTENT_HOME": str(deployment.home)}
    return figures, deployment.home / "data", days, env


def landing_rows(folder: Path) -> int:
    """Rows of the landing files in one source's drop, counted without the extractors."""
    from intent_pipeline.sources.encoding import decode_text  # the sample writes GBK exports too

    rows = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".csv":
            text = decode_text(path.read_bytes()).text
            rows += sum(1 for row in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in row)) - 1
        elif path.suffix == ".jsonl":
            rows += sum(1 for line in decode_text(path.read_bytes()).text.splitlines() if line.strip())
        elif path.suffix == ".json":
            body = json.loads(decode_text(path.read_bytes()).text)
            rows += len(body) if isinstance(body, list) else 1
        elif path.suffix == ".xlsx":
            from openpyxl import load_workbook

            sheet = load_workbook(path, read_only=True).worksheets[0]
            rows += sum(1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)) - 1
        else:
            raise AssertionError(f"a landing file this count does not know: {path}")
    return rows


def rows_of_the_day(data: Path, day: str) -> dict[str, int]:
    return {source: landing_rows(data / "landing" / source / f"dt={day}") for source in SOURCES}


def test_no_day_skipped_and_no_lock_error(scenario):
    figures, data, days, _ = scenario
    assert figures["run_states"] == dict.fromkeys(days, "success")
    assert figures["skipped_intervals"] == 0 and figures["duplicated_intervals"] == 0
    assert figures["lock_errors"] == 0 and figures["bi_reader_errors"] == 0
    # the seeded 40-person sample has one day whose exports hold headers only: that run skips its build
    # (docs/operations.md), so it publishes nothing; every other day publishes once
    with_rows = [day for day in days if sum(rows_of_the_day(data, day).values())]
    assert 2 <= len(with_rows) <= DAYS
    assert figures["bi_reader_queries"] > 0 and figures["bi_snapshots_published"] == len(with_rows)


def test_each_days_summary_is_that_days(scenario):
    figures, data, days, env = scenario
    for day in days:
        counted = rows_of_the_day(data, day)
        saved = data / "reports" / "runs" / f"dt={day}.json"
        if not sum(counted.values()):  # a day of empty exports: no build, and its summary says so
            assert not saved.exists(), day
            done = subprocess.run([sys.executable, "-m", "intent_pipeline", "summary", "--date", day], env=env,
                                  capture_output=True, text=True)  # fmt: skip
            assert done.returncode == 0 and f"interval starting {day}: SKIPPED, no landing data" in done.stdout
            continue
        summary = json.loads(saved.read_text())
        assert summary["interval_start"] == day
        assert [summary["run_id"]] == figures["runs_per_interval"][day]
        assert summary["quality"] == {"raw": True, "marts": True}, (day, summary["quality"])
        read = {source: sum(c["read"] for c in tables.values()) for source, tables in summary["sources"].items()}
        assert read == counted, (day, read, counted)
        for source, tables in summary["sources"].items():
            assert all(c["read"] == c["loaded"] + c["quarantined"] for c in tables.values()), (day, source)
        assert summary["warehouse"], day


def test_the_landing_count_can_fail(tmp_path):
    """The count above is the files', not a copy of the manifest: two rows more are two rows more."""
    (tmp_path / "a.csv").write_bytes("姓名,手机号\n张伟,1\n李娜,2\n".encode("gbk"))
    (tmp_path / "b.jsonl").write_text('{"a":1}\n{"a":2}\n\n', encoding="utf-8")
    (tmp_path / "c.json").write_text('[{"a":1},{"a":2},{"a":3}]', encoding="utf-8")
    assert landing_rows(tmp_path) == 7
