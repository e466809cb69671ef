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
from datetime import timedelta
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, seed_dbt_parse
from tests.benches import load_bench
from tests.shared import shared_folder

pytestmark = pytest.mark.slow

DAYS = 3
PEOPLE = 40


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    bench = load_bench("operations")
    metadata = airflow_metadata(tmp_path_factory)
    with bench.start(tmp_path_factory.mktemp("airflow"), metadata=metadata) as deployment:
        seed_dbt_parse(shared_folder(tmp_path_factory), deployment.home)
        figures = bench.run(people=PEOPLE, days=DAYS, base=tmp_path_factory.mktemp("operations"), timeout=2400,
                            deployment=deployment)  # fmt: skip
    days = [(bench.LAST_DAY - timedelta(days=n)).isoformat() for n in reversed(range(DAYS))]
    return figures, deployment.home / "data", days


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


def test_no_day_skipped_and_no_lock_error(scenario):
    figures, _, days = scenario
    assert figures["run_states"] == dict.fromkeys(days, "success")
    assert figures["skipped_intervals"] == 0 and figures["duplicated_intervals"] == 0
    assert figures["lock_errors"] == 0 and figures["bi_reader_errors"] == 0
    assert figures["bi_reader_queries"] > 0 and figures["bi_snapshots_published"] == DAYS


def test_each_days_summary_is_that_days(scenario):
    figures, data, days = scenario
    for day in days:
        summary = json.loads((data / "reports" / "runs" / f"dt={day}.json").read_text())
        assert summary["interval_start"] == day
        assert [summary["run_id"]] == figures["runs_per_interval"][day]
        assert summary["quality"] == {"raw": True, "marts": True}, (day, summary["quality"])
        for source, tables in summary["sources"].items():
            read = sum(counts["read"] for counts in tables.values())
            counted = landing_rows(data / "landing" / source / f"dt={day}")
            assert read == counted > 0, (day, source, read, counted)
            assert all(c["read"] == c["loaded"] + c["quarantined"] for c in tables.values()), (day, source)
        assert summary["warehouse"], day


def test_the_landing_count_can_fail(tmp_path):
    """The count above is the files', not a copy of the manifest: two rows more are two rows more."""
    (tmp_path / "a.csv").write_bytes("姓名,手机号\n张伟,1\n李娜,2\n".encode("gbk"))
    (tmp_path / "b.jsonl").write_text('{"a":1}\n{"a":2}\n\n', encoding="utf-8")
    (tmp_path / "c.json").write_text('[{"a":1},{"a":2},{"a":3}]', encoding="utf-8")
    assert landing_rows(tmp_path) == 7
