"""The goals of operating the DAG, on the real Airflow scheduler (issue 15).

One scenario (bench/operations.py, a small sample): in a temporary home, the api-server,
scheduler and dag-processor run on SQLite with the LocalExecutor while, at the same time, a
manual run of the last day (REST, logical date = interval start), a 3-day backfill, the
scheduled run of the latest interval (a day without data) and a separate BI reader process
that holds the serving copy open and queries it in a loop. Asserted from the metadata DB, the
task logs and the reader: every day run exactly once and successfully (none skipped, none
duplicated), the warehouse-writing tasks strictly one at a time (their tries' start and end),
no DuckDB lock error anywhere, the reader never failed and saw every published snapshot, the
day without data built nothing, and no destination got a value older than one it held.

On the same scenario, what each day's run reported (before: tests/test_scheduler_backfill_summaries.py,
the same scenario again on a 40-person sample on an Airflow of its own): each day's saved summary
(``reports/runs/dt=D.json``, what ``make run`` and ``summary --date D`` print) names its own interval
and its own successful run, and its rows read per source equal a count of that day's landing files
made here, independently of the extractors (CSV rows, JSON array items, JSON lines, XLSX rows).

Then, on the same running Airflow (one start for the module: bench/operations.py's
``start_for_both``), the trigger load: REST triggers while another DAG's mapped tasks call the
execution API, and the UI form's plain trigger of customer_intent.

The incremental days on the same runs (before: tests/outside/test_reader_during_incremental_day.py,
a second Airflow over the same 150-person sample, its days run one after another with the reader):
every day built; every build after the first took the incremental path (dbt's log carries the
incremental identity models' lines); and after the last build (the next scheduled run's) every
incremental model and kept table equals a ``dbt run --full-refresh`` of a copy on the same lake,
although the days were built out of order (the manual run's last day first, then the backfill's
older days, then a later day).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.airflow_home import airflow_metadata, seed_dbt_parse
from tests.benches import load_bench
from tests.dbt.conftest import INCREMENTAL_RELATIONS, WAREHOUSE_FILE, Build, run_dbt
from tests.outside.lakehouse import interval
from tests.shared import shared_folder

pytestmark = pytest.mark.slow

DAYS = 3
SOURCES = ("forms", "email", "web", "crm")
# Airflow's `[core] default_task_retry_delay` for this Airflow (the project's setups: 120 s): dbt_build's
# retry in ``next_scheduled`` waits this long, not two minutes
RETRY_DELAY_SECONDS = 5


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """The components, started once for both scenarios (the operations scenario first)."""
    bench = load_bench("operations")
    # the test run's migrated metadata DB and dbt's parse of the project (tests/airflow_home.py)
    metadata = airflow_metadata(tmp_path_factory)
    retry_delay = {"AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": str(RETRY_DELAY_SECONDS)}
    with bench.start_for_both(tmp_path_factory.mktemp("airflow"), metadata=metadata,
                              extra_env=retry_delay) as deployment:  # fmt: skip
        seed_dbt_parse(shared_folder(tmp_path_factory), deployment.home)
        yield bench, deployment


@pytest.fixture(scope="module")
def figures(airflow, tmp_path_factory):
    bench, deployment = airflow
    return bench.run(people=150, days=DAYS, base=tmp_path_factory.mktemp("operations"), timeout=2400,
                     deployment=deployment)  # fmt: skip


def test_every_interval_exactly_once(figures):
    assert figures["run_states"] == {"2026-11-19": "success", "2026-11-20": "success", "2026-11-21": "success"}
    assert figures["backfill_days"] == DAYS
    assert figures["skipped_intervals"] == 0
    assert figures["duplicated_intervals"] == 0, figures["runs_per_interval"]
    # the manual run took its day; the backfill did not create a second run of it
    assert figures["runs_per_interval"]["2026-11-21"] == [figures["manual_run"]]
    assert all(run.startswith("backfill__") for day in ("2026-11-19", "2026-11-20")
               for run in figures["runs_per_interval"][day])  # fmt: skip


def test_the_manual_trigger_is_answered_the_first_time(figures):
    """One api-server process for the REST API, another for the task execution API: the trigger's
    audit-log row never deadlocks with a task's request (before: a 500 after 60 s, then a retry)."""
    assert figures["manual_trigger_attempts"] == 1, figures["manual_trigger_seconds"]


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


@pytest.fixture(scope="module")
def backfilled(airflow, figures):
    """The operations scenario's days, its installation's data folder and the environment of its CLI."""
    bench, deployment = airflow
    days = [(bench.LAST_DAY - timedelta(days=n)).isoformat() for n in reversed(range(DAYS))]
    env = {**deployment.env, "INTENT_HOME": str(deployment.home)}
    return figures, deployment.home / "data", days, env


def test_no_day_skipped_and_no_lock_error(backfilled):
    figures, data, days, _ = backfilled
    assert figures["run_states"] == dict.fromkeys(days, "success")
    assert figures["skipped_intervals"] == 0 and figures["duplicated_intervals"] == 0
    assert figures["lock_errors"] == 0 and figures["bi_reader_errors"] == 0
    # a day whose exports hold headers only (a small sample can have one) skips its build
    # (docs/operations.md), so it publishes nothing; every other day publishes once
    with_rows = [day for day in days if sum(rows_of_the_day(data, day).values())]
    assert 2 <= len(with_rows) <= DAYS
    assert figures["bi_reader_queries"] > 0 and figures["bi_snapshots_published"] == len(with_rows)


def test_each_days_summary_is_that_days(backfilled):
    figures, data, days, env = backfilled
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


@pytest.fixture(scope="module")
def trigger_load(airflow, figures, tmp_path_factory):
    """After the operations scenario (``figures``: its runs are all there is of customer_intent when it counts them)."""
    bench, deployment = airflow
    return bench.trigger_load(tmp_path_factory.mktemp("trigger-load"), triggers=8, ui_trigger=True,
                              deployment=deployment)  # fmt: skip


def test_rest_triggers_never_fail_while_tasks_call_the_execution_api(trigger_load):
    """bench/operations.py --trigger-load: REST triggers while another DAG's 60 mapped tasks run.
    With one api-server for both APIs, 3 or 4 of 12 such triggers failed with a 500 after 60 s
    (docs/operations.md, "The REST trigger's 60 s stall on SQLite")."""
    assert trigger_load["api_servers"] == 2
    assert trigger_load["load_task_states"].get("success", 0) > 0  # the load ran while the triggers were sent
    assert trigger_load["triggers_failed"] == 0, trigger_load["trigger_errors"]


def test_the_uis_plain_trigger_is_refused_before_any_work(trigger_load):
    """The UI form's default (logical date "now", no data interval) through the real api-server:
    Airflow infers the last complete day under a logical date that is not its start; the run's
    first tasks refuse it with what to do instead, and nothing downstream runs."""
    run = trigger_load["ui_trigger"]
    assert run["run_type"] == "manual" and run["triggered_by"] == "UI"
    assert run["logical_date"][:10] == run["data_interval_end"][:10]  # "now": the day after the interval
    assert run["data_interval_start"] < run["logical_date"]
    assert run["state"] == "failed"
    extracts = {task: state for task, state in run["tasks"].items() if task.startswith("extract_")}
    assert set(extracts.values()) == {"failed"} and run["refused_by"] == sorted(extracts)
    assert run["tasks"]["dbt_build"] == "upstream_failed" and run["tasks"]["activate"] == "upstream_failed"


def test_warehouse_writers_strictly_one_at_a_time(figures):
    # dbt_build and publish of three runs at least (retries count as tries of their own)
    assert figures["writer_tries"] >= 2 * DAYS
    assert figures["overlapping_writers"] == 0, figures["overlaps"]
    assert figures["lock_errors"] == 0


def test_the_bi_reader_never_blocks_nor_fails(figures):
    assert figures["bi_reader_queries"] > 0
    assert figures["bi_reader_errors"] == 0, figures["bi_reader_error_examples"]
    assert figures["bi_snapshots_published"] == DAYS
    assert figures["bi_snapshots_missed"] == 0
    assert figures["publish_seconds"] is not None and figures["publish_seconds"] < figures["dbt_build_seconds"]


def test_time_moves_forward_at_the_destinations(figures):
    """No destination acknowledged a value from a run of an older interval than one that had finished
    before it (the manual run of the last day may finish before the backfill's older days)."""
    assert figures["activation_runs"] >= 2 * DAYS  # hubspot and dingtalk (outbox) of every day
    assert figures["stale_values_sent"] == 0


def test_the_scheduled_run_of_a_day_without_data_builds_nothing(figures):
    assert figures["other_intervals"], "the scheduler created no run for the latest interval"
    assert all(run.endswith(":success") for runs in figures["other_intervals"].values() for run in runs)
    assert figures["no_data_runs_skipped_build"]


def test_the_summary_of_a_day_without_data_says_skipped_and_is_no_failure(airflow, figures):
    """What make run prints for such a day (python -m intent_pipeline summary --date D): skipped,
    why, and what the serving copy still holds; exit status 0 (before: "no saved summary", status 1,
    and make run failed)."""
    _, deployment = airflow
    day = next(iter(figures["other_intervals"]))
    env = {**deployment.env, "INTENT_HOME": str(deployment.home)}
    done = subprocess.run([sys.executable, "-m", "intent_pipeline", "summary", "--date", day], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"interval starting {day}: SKIPPED, no landing data" in done.stdout
    assert "nothing was built, published or sent" in done.stdout and "serving: run " in done.stdout


def test_the_ui_shows_each_runs_task_logs_and_real_durations(figures):
    """Runs started by the scheduler (what make run does) log where the UI reads, and their
    duration is the time they took, not the distance from their logical date."""
    assert figures["task_logs_missing"] == []
    durations = figures["run_durations_seconds"]
    assert len(durations) >= DAYS + 1
    assert all(0 < seconds <= figures["wall_seconds"] for seconds in durations.values()), durations


@pytest.fixture(scope="module")
def next_scheduled(airflow, trigger_load):
    """Last on the same Airflow: the scheduled run of the latest interval (it ran without data in the
    operations scenario) gets its landing drop and is cleared, so the scheduler runs it again and it
    builds and publishes while one BI session holds the serving copy open and another, wrongly, the
    build file (bench/operations.py's ``next_scheduled_run_with_readers``)."""
    bench, deployment = airflow
    return bench.next_scheduled_run_with_readers(deployment)


def test_a_bi_session_on_the_serving_copy_keeps_its_view_while_the_next_scheduled_run_publishes(next_scheduled):
    figures = next_scheduled
    assert figures["dbt_build_before"] == "skipped"  # the day had no data when the scheduler first ran it
    assert figures["run_type"] == "scheduled" and figures["run_state"] == "success", figures["tasks"]
    assert figures["tasks"]["publish"] == "success"
    published = figures["published"]
    assert published["run_id"] == figures["run_id"] and published["interval_start"] == figures["interval_start"]
    # one connection, asked every 2 s from before the clear until after the publish: one view, complete
    held = figures["held_views"]
    assert len(held) == 1 and figures["held_view_queries"] >= 3, held
    assert "error" not in held[0] and held[0]["people"] > 0 and held[0]["lead_scores"] > 0
    assert held[0]["version"] != published["version"] and held[0]["interval_start"] != figures["interval_start"]
    # reconnected, and a session opened afterwards: the new publication
    for view in (figures["reopened_view"], figures["new_reader_view"]):
        assert view["version"] == published["version"] and view["run_id"] == figures["run_id"], view
        assert view["people"] == published["marts"]["people"]


def test_a_bi_session_on_the_build_file_fails_the_build_naming_it_and_never_skips_the_day(next_scheduled):
    """dbt cannot write the warehouse while any process holds it: the first try fails and its error
    names the session (process id and command line); once the session is gone, the retry builds the
    day. Not skipped, not silently: the day ends published."""
    figures = next_scheduled
    assert figures["released_at_try"] == 1 and figures["built_while_held"] is False
    lines, pid = figures["first_try_holder_lines"], figures["build_file_holder_pid"]
    assert any(f"PID {pid}: " in line and "bi-on-the-build-file" in line for line in lines), lines
    assert any("serving copy" in line for line in lines)
    assert figures["dbt_build_tries"] >= 2
    assert figures["tasks"]["dbt_build"] == "success"
    # in time: the first try ended (failed) while the session held the file; the try that built started
    # after it had quit, Airflow's retry delay after the failure
    tries = [(state, datetime.fromisoformat(start), datetime.fromisoformat(end))
             for state, start, end in figures["dbt_build_tries_since_clear"]]  # fmt: skip
    released = datetime.fromisoformat(figures["build_file_released_at"])
    assert tries[0][0] != "success" and tries[0][2] <= released, (tries, released)
    assert tries[-1][0] == "success" and tries[-1][1] > released, (tries, released)
    assert (tries[1][1] - tries[0][2]).total_seconds() >= RETRY_DELAY_SECONDS, tries


# The incremental days of the module's run (before: tests/outside/test_reader_during_incremental_day.py,
# a second Airflow with the same 150-person sample, its three days run one after another): the builds
# after the first took the incremental path, every day built, and the kept state equals a full refresh.


def dbt_builds(home: Path) -> list[str]:
    """The installation's successful ``dbt build`` runs, in order, each as its part of dbt's log
    (``<state>/dbt/logs/dbt.log``: the task log keeps only the end of dbt's output). Each run starts
    with a header line of ``=`` around its start time and invocation id."""
    text = (home / "data" / "state" / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")
    runs = re.split(r"^=+ [\d:.]+ \| [0-9a-f-]{36} =+$", text, flags=re.MULTILINE)[1:]
    return [run for run in runs if "'invocation_command': 'dbt build" in run and '"command_success": true' in run]


def compared_tables(build: Build) -> list[str]:
    """The incremental models and their kept tables (``<model>__<state>``) of ``intermediate``."""
    kept = [t for t in build.tables() if t.startswith("intermediate.") and "__" in t]
    return sorted({*INCREMENTAL_RELATIONS, *kept, "intermediate.int_people_resolved"})


def refreshed_models(tables: list[str]) -> list[str]:
    """dbt's selection of the models ``tables`` come from and every model upstream of them (``+model``):
    what a full refresh must rebuild for those tables to be its own. A kept table ``<model>__<state>``
    comes from ``<model>`` (intermediate models have no ``__`` in their names)."""
    models = {name if schema == "staging" else name.split("__")[0]
              for schema, name in (table.split(".", 1) for table in tables)}  # fmt: skip
    return sorted(f"+{model}" for model in models)


@pytest.fixture(scope="module")
def kept_state(airflow, next_scheduled, tmp_path_factory):
    """After the module's last build (the next scheduled run's): a copy of the warehouse, and another
    copy refreshed with ``dbt run --full-refresh`` on the same lake for that run's interval (the
    compared tables' models and every model upstream of them: the rest cannot change a compared table)."""
    _, deployment = airflow
    data = deployment.home / "data"
    base = tmp_path_factory.mktemp("kept-state")
    builds = {}
    for name in ("kept", "refreshed"):
        (base / name).mkdir()
        shutil.copyfile(data / WAREHOUSE_FILE, base / name / WAREHOUSE_FILE)
        builds[name] = Build(base=base / name, warehouse=base / name / WAREHOUSE_FILE, lake=data / "lake",
                             build=None)  # type: ignore[arg-type]  # fmt: skip
    compared = compared_tables(builds["kept"])
    day = date.fromisoformat(next_scheduled["interval_start"])
    done = run_dbt(base / "refreshed", data / "lake", "run", "--full-refresh", "--select", *refreshed_models(compared),
                   interval=interval(day))  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return builds, compared


def test_every_day_ran_once_and_built(airflow, figures, next_scheduled):
    """Every day of the backfill (and the manual run's) ran once and built: its dbt_build succeeded,
    none skipped; the next scheduled run built too."""
    bench, deployment = airflow
    built = {day: [bench.task_states(deployment.db, run_id).get("dbt_build") for run_id in runs]
             for day, runs in figures["runs_per_interval"].items()}  # fmt: skip
    assert built == {day: ["success"] for day in figures["run_states"]}, built
    assert len(built) == DAYS
    assert next_scheduled["tasks"]["dbt_build"] == "success"


def test_the_reader_never_failed_and_nothing_hit_a_lock(figures):
    """The BI reader held the serving copy through every build of the backfill: no failed query, no
    DuckDB lock error in it or in any task log, and it saw each snapshot a run published."""
    assert figures["lock_errors"] == 0
    assert figures["bi_reader_errors"] == 0 and figures["bi_reader_queries"] > 0, figures["bi_reader_error_examples"]
    assert figures["bi_snapshots_seen"] == figures["bi_snapshots_published"] == DAYS


def test_the_days_after_the_first_were_incremental(airflow, next_scheduled):
    """Every build after the first (the backfill's days on the warehouse the first one made, and the next
    scheduled run's) carries the incremental identity models' lines; the first, on an empty warehouse, none.
    The backfill's days bring identifiers, so identity runs on each; a later day whose identity inputs did
    not change may leave the models out (day_skip: named in its build's --exclude), never rebuild them whole."""
    _, deployment = airflow
    builds = dbt_builds(deployment.home)
    assert len(builds) >= DAYS + 1, len(builds)
    assert "records new or changed" not in builds[0]
    for index, log in enumerate(builds[1:], start=1):
        command = re.search(r"'invocation_command': '([^']*)'", log)
        assert command, log[-3000:]
        if index >= DAYS and "int_identity_match_evidence" in command.group(1).partition("--exclude")[2]:
            assert "int_identity_components" in command.group(1).partition("--exclude")[2], command.group(1)
            continue
        assert re.search(r"int_identity_match_evidence: \d+ records new or changed", log), log[-3000:]
        clustered = re.search(
            r"int_identity_components: \d+ nodes touched by changed edges, (\d+) nodes clustered", log
        )
        assert clustered, log[-3000:]


def test_the_kept_state_equals_a_full_refresh(kept_state):
    """After days built out of order (the manual run's last day, then the backfill's older days, then a
    later day), every incremental model and kept table equals a full refresh of the same lake."""
    builds, tables = kept_state
    kept, refreshed = builds["kept"], builds["refreshed"]
    assert len(tables) > len(INCREMENTAL_RELATIONS)
    kept_rows, refreshed_rows = kept.rows(*tables), refreshed.rows(*tables)  # one connection a side
    differ = [table for table in tables if kept_rows[table] != refreshed_rows[table]]
    assert differ == []
