"""A published serving copy of the generated sample, built without Airflow's scheduler.

The dashboard reads only the serving copy (``<home>/data/serving``). This module makes one the
way the DAG does, by calling the same task functions in the same order for each day
(extract per source, the raw gate, ``dbt build``, the marts gate, publish, activation to the
outbox, the summary), so the dashboard test and a developer without ``make run`` get the real
marts of the sample:

    python -m tests.dashboard.sample --home /tmp/intent-sample [--people 600] [--days 2]

Two daily drops by default: the overview's "change since the previous interval" and the
operations page's activation history need a run before the last one.

:func:`shared_sample` makes one such installation per test run (600 people, two days), under a
file lock in the run's shared folder, for every test file and xdist worker that reads it (the
dashboard tests build their site from it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAST_DAY = date(2026, 11, 21)
SOURCES = ("forms", "email", "web", "crm")
# variables that would point the sample at another installation's paths
FOREIGN = ("INTENT_LANDING_URL", "INTENT_LAKE_DIR", "INTENT_WAREHOUSE", "INTENT_STATE_DIR", "INTENT_OUTBOX_DIR",
           "INTENT_REPORTS_DIR", "INTENT_SERVING_DIR", "INTENT_MODELS_DIR")  # fmt: skip


@contextmanager
def _environment(home: Path):
    saved = dict(os.environ)
    for name in FOREIGN:
        os.environ.pop(name, None)
    os.environ["INTENT_HOME"] = str(home)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_day(day: date) -> dict:
    """One day through the DAG's task functions (activation writes the outbox: no connection)."""
    from intent_pipeline import pipeline
    from intent_pipeline.activation import activate
    from intent_pipeline.intervals import naive_utc
    from intent_pipeline.serving import run_settings
    from intent_pipeline.settings import Settings

    start, end = pipeline.interval_dates(day)
    run_id = f"dashboard_sample__{day.isoformat()}"
    seconds: dict[str, float] = {}

    def step(name: str, call, *args):
        began = time.monotonic()
        result = call(*args)
        seconds[name] = round(time.monotonic() - began, 1)
        return result

    for source in SOURCES:
        step(f"extract_{source}", pipeline.extract_task, source, start, end, run_id)
    step("validate_raw", pipeline.validate_task, "raw", start, end, run_id)
    step("dbt_build", pipeline.dbt_build_task, start, end, run_id)
    step("validate_marts", pipeline.validate_task, "marts", start, end, run_id)
    step("publish", pipeline.publish_task, start, end, run_id)
    settings = run_settings(Settings.from_env(), run_id)
    report = step("activate", activate, settings, day, naive_utc(end), run_id, None, None)
    path = settings.reports_dir / "activation" / f"dt={day.isoformat()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "interval_start": day.isoformat(), "destinations": report},
                               default=str, ensure_ascii=False))  # fmt: skip
    step("summarize", pipeline.summary_task, start, end, run_id)
    return {"day": day.isoformat(), "seconds": seconds}


def build_sample(home: Path, *, people: int = 600, days: int = 2, seed: int = 42) -> Path:
    """Generate the sample under ``home`` and run its days; return the serving folder."""
    home.mkdir(parents=True, exist_ok=True)
    data = home / "data"
    first = LAST_DAY - timedelta(days=days - 1)
    with _environment(home):
        subprocess.run(
            [sys.executable, "-m", "intent_pipeline", "synth", "--people", str(people), "--seed", str(seed),
             "--date", LAST_DAY.isoformat(), "--daily-drops", str(days),
             "--landing", str(data / "landing"), "--truth", str(data / "ground_truth")],
            check=True, capture_output=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
        )  # fmt: skip
        for offset in range(days):
            print(json.dumps(run_day(first + timedelta(days=offset))), flush=True)
    return data / "serving"


def shared_sample(shared: Path) -> Path:
    """The INTENT_HOME of the test run's sample (600 people, two days), made once under ``shared``
    (:func:`tests.shared.shared_folder`) from the test run's parse of the project. Read it, never change it."""
    from tests.airflow_home import seed_dbt_parse
    from tests.shared import made_once

    folder = shared / "sample"
    home = folder / "home"
    record = folder / "built"

    def build() -> None:
        import shutil

        shutil.rmtree(home, ignore_errors=True)  # a failed attempt's leftovers
        seed_dbt_parse(shared, home)
        build_sample(home, people=600, days=2)
        record.write_text(str(home))

    made_once(folder, record, build)
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="INTENT_HOME of the sample (data/ goes there)")
    parser.add_argument("--people", type=int, default=600)
    parser.add_argument("--days", type=int, default=2, help="daily drops, the last one on 2026-11-21")
    args = parser.parse_args()
    started = datetime.now()
    serving = build_sample(args.home.resolve(), people=args.people, days=args.days)
    print(json.dumps({"serving": str(serving), "seconds": (datetime.now() - started).total_seconds()}))


if __name__ == "__main__":
    main()
