"""Benchmark and goal check: the customer_intent DAG operated as a deployment.

    python bench/operations.py [--people N] [--days D] [--port P] [--keep DIR]
    python bench/operations.py --publish-only [--people N] [--keep DIR]
    python bench/operations.py --trigger-load [--triggers N] [--single-api-server] [--keep DIR]

In a temporary project home (SQLite metadata, LocalExecutor) it generates a sample with one
landing drop per day for D days (default 3 days, 300 people: a few minutes on 2 cores, most of
it Airflow's start and one dbt build per day), starts the real Airflow components
(api-server, scheduler, dag-processor) and then, at the same time:

* a manual run of the last day, triggered through the REST API with the DAG's convention
  (logical date = interval start);
* a backfill of all D days (scripts/airflow_run.py's: `airflow backfill create`'s arguments
  through the REST API; its own lane of active runs);
* the scheduled run the scheduler creates for the latest interval when it sees the DAG
  unpaused (a day without landing data: skipped, not built);
* a separate BI reader process that holds the serving copy open (read-only) and queries it in a
  loop, reopening it every second to pick up new snapshots.

From the metadata DB, the task logs and the reader it reports (last line, one JSON object):
backfill_days (days with exactly one successful run), skipped_intervals, duplicated_intervals,
overlapping_writers (pairs of warehouse-pool task tries whose [start, end] overlap),
lock_errors (DuckDB lock errors in any task log or in the reader), bi_reader_errors,
bi_reader_queries, bi_snapshots_seen / bi_snapshots_missed (published versions the reader did
or did not see), publish_seconds (max over the runs) and dbt_build_seconds (min), their ratio,
and wall times; from the activation ledger, stale_values_sent (values a destination acknowledged
from a run of an older interval than a run of that destination that had finished before it
started: "time moves forward in the CRM", issue 15 item 3) and stale_held_back (rows the runs
held back for that reason, the report's ``stale``).

``--publish-only`` measures the goal publish_seconds <= 5 % of dbt_build's at a size where the
scheduler scenario would take too long on a small machine (``--people 100000``): it generates
one landing drop, extracts it and runs the DAG's own task functions once, without Airflow,
in this order: ``dbt_build_task`` (one dbt build, then the run's snapshot copy) and
``publish_task`` twice (into an empty serving folder, then over the previous copy, as every
run after the first does). Its JSON: dbt_build_seconds, snapshot_seconds, publish_seconds
(first and again), their share of dbt_build, the marts' rows and the files' sizes.

``--trigger-load`` times REST manual triggers (``POST /api/v2/dags/{id}/dagRuns``) while
another DAG's tasks are running and calling the task execution API, on SQLite metadata: two small
DAGs of its own (``LOAD_DAGS``: 60 mapped half-second tasks, and a one-task target), triggered
``--triggers`` times (default 12) one second apart, each trigger sent once (no retry). With
``--single-api-server`` one api-server process serves the REST and the execution API (what
``airflow standalone`` runs), otherwise two (what scripts/airflow_run.py runs). Its JSON:
trigger_seconds (each), triggers_failed, trigger_max_seconds. Once the triggers are sent (and
the load's task states read) the load DAG is paused: its queued tasks would only keep the
machine busy.

From Python, ``run`` and ``trigger_load`` each start an Airflow of their own, or take one already
running (``deployment=``, from :func:`start`); ``start_for_both`` starts one for the operations
scenario and then the trigger load (tests/test_scheduler.py: one start, not two). Parallelism
cannot change on a running scheduler, so that Airflow has the trigger load's (8) and the default
pool one slot while the operations scenario runs (one default-pool task beside the warehouse
pool's one: two task processes, as with parallelism 2); ``trigger_load`` gives the pool its 128
slots back through the REST API.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_DAY = date(2026, 11, 21)
WAREHOUSE_POOL = "intent_warehouse"
WAREHOUSE_POOL_DESCRIPTION = "customer_intent: one writer of the DuckDB warehouse at a time"  # airflow-init.sh's
DEFAULT_POOL, DEFAULT_POOL_DESCRIPTION, DEFAULT_POOL_SLOTS = "default_pool", "Default pool", 128
# task processes at once: two cores, so a few (fewer writers queue on the SQLite metadata DB); the
# trigger load's mapped tasks run eight at a time
OPERATIONS_PARALLELISM, TRIGGER_LOAD_PARALLELISM = 2, 8
# how often the scenarios ask the REST API for the runs' states (scripts/airflow_run.py's wait_for and
# wait_idle; make run asks every 3 s): each answer costs the api-server about 20 ms of CPU, 0.4 CPU-s a
# minute at every 3 s, most of what it did in the tests besides its start (docs/benchmarks.md, schedair)
POLL_SECONDS = 10
LOCK_PATTERNS = ("Could not set lock on file", "Conflicting lock")


def _runner():
    spec = importlib.util.spec_from_file_location("airflow_run", ROOT / "scripts" / "airflow_run.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


airflow_run = _runner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_env(base: Path, port: int) -> dict:
    if str(ROOT / "plugins") not in sys.path:
        sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline import dbt_fork

    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENT_", "AIRFLOW_", "AIRFLOW__"))}
    env.update(
        **dbt_fork.passed_on(os.environ),  # a test session's dbt fork server (tests/conftest.py)
        INTENT_HOME=str(base / "home"),
        AIRFLOW_HOME=str(base / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__PARALLELISM=str(OPERATIONS_PARALLELISM),
        # the DAG files do not change while the bench runs: parsed at the start, not again every 30 s
        # (each parse is a process of its own; 41 of them, 13 CPU-seconds, in a 14-minute test run)
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="3600",
        # the scheduler's sleep after a loop that found nothing to do (Airflow's default 1 s; a loop
        # that queued a task or saw one finish runs the next at once): 3 s takes its idle loops from
        # 2.0 to 0.85 CPU-seconds a 90 s (docs/benchmarks.md, issue 16), for up to 2 s more between a
        # task's end and the next task's start
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="3",
        # two of its timed checks, which also cut that sleep short (it sleeps until the next one is
        # due): the search for tasks whose heartbeats stopped (10 s; a task is declared lost after 300 s
        # anyway) and the triggers' timeouts (15 s; no triggerer here): idle, 1.35 -> 1.17 CPU-s a 120 s.
        # Not its own heartbeat (5 s): at 15 s, under load, it fell behind `[scheduler]
        # scheduler_health_check_threshold` (30 s) and the orphan check marked the scheduler failed and
        # reset 20 running tasks (docs/benchmarks.md, schedair)
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="60",
        AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL="60",
        # Not `[workers] min_heartbeat_interval` either (a running task's heartbeat, 5 s): it is also how
        # long the task's supervisor blocks in its select, so at 30 s a try's end reached the executor
        # up to 30 s late (runs 20-70 s longer; docs/benchmarks.md, schedair)
        # the scheduler's log server: not the default 8793, which another Airflow on this host may hold
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        # SQLite metadata shared by four components: wait up to 60 s for its write lock, not 5 s
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="intent_pipeline.airflow_sqlite.CONNECT_ARGS",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC="intent_pipeline.airflow_sqlite.CONNECT_ARGS",
        PYTHONPATH=str(ROOT / "plugins"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        # the task execution API's own api-server (scripts/airflow_run.py): a free port, not 8091
        INTENT_AIRFLOW_EXECUTION_PORT=str(free_port()),
    )
    # the wait between a task's tries: the caller's `[core] default_task_retry_delay` (scripts/env.sh
    # sets the project's 120 s), else Airflow's default
    retry_delay = os.environ.get("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY")
    if retry_delay:
        env["AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY"] = retry_delay
    return airflow_run.with_port(env, port, int(env["INTENT_AIRFLOW_EXECUTION_PORT"]))


READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb

    path, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    reopen_every = float(sys.argv[4])
    con, opened, queries, errors, versions = None, 0.0, 0, [], []
    while not stop.exists():
        try:
            if con is None and path.exists():
                con, opened = duckdb.connect(str(path), read_only=True), time.monotonic()
            if con is not None:
                version = con.execute("select version from serving.published").fetchall()[0][0]
                con.execute("select count(*) from marts.people").fetchall()
                con.execute("select count(*) from marts.lead_scores").fetchall()
                queries += 1
                if not versions or versions[-1] != version:
                    versions.append(version)
                if time.monotonic() - opened > reopen_every:
                    con.close()
                    con = None
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
            con = None
        time.sleep(0.2)
    out.write_text(json.dumps({"queries": queries, "errors": errors, "versions": versions}))
    """
)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None)


def writer_tries(db: Path) -> list[tuple[str, str, int, datetime, datetime]]:
    """(run, task, try, start, end) of every try of a task in the warehouse pool that ran."""
    con = sqlite3.connect(db)
    try:
        rows = []
        for table in ("task_instance", "task_instance_history"):
            rows += con.execute(
                f"select run_id, task_id, try_number, start_date, end_date from {table} "  # noqa: S608 - fixed names
                "where pool = ? and start_date is not null and end_date is not null and start_date < end_date",
                (WAREHOUSE_POOL,),
            ).fetchall()
    finally:
        con.close()
    unique = {(r[0], r[1], r[2]): (_parse_time(r[3]), _parse_time(r[4])) for r in rows}
    return [(run, task, n, start, end) for (run, task, n), (start, end) in sorted(unique.items()) if start and end]


def overlapping_pairs(tries: list) -> list[tuple]:
    """Pairs of tries whose [start, end] intervals overlap."""
    pairs = []
    for i, a in enumerate(tries):
        for b in tries[i + 1 :]:
            if a[3] < b[4] and b[3] < a[4]:
                pairs.append((a[:3], b[:3]))
    return pairs


def interval_runs(db: Path) -> dict[str, list[tuple[str, str, str]]]:
    """interval start day -> [(run_id, run_type, state)] of every run of the DAG."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select substr(data_interval_start, 1, 10), run_id, run_type, state, substr(logical_date, 1, 10) "
            "from dag_run where dag_id = 'customer_intent'"
        ).fetchall()
    finally:
        con.close()
    runs: dict[str, list[tuple[str, str, str]]] = {}
    for day, run_id, run_type, state, logical_day in rows:
        if logical_day != day:
            raise AssertionError(f"{run_id}: logical date {logical_day} is not its interval start {day}")
        runs.setdefault(day, []).append((run_id, run_type, state))
    return runs


def task_returns(db: Path, task_id: str) -> list[dict]:
    con = sqlite3.connect(db)
    try:
        values = [
            row[0]
            for row in con.execute(
                "select value from xcom where task_id = ? and key = 'return_value'", (task_id,)
            ).fetchall()
        ]
    finally:
        con.close()
    out = []
    for value in values:
        decoded = json.loads(value) if isinstance(value, str | bytes) else value
        if isinstance(decoded, str):
            decoded = json.loads(decoded)
        out.append(decoded)
    return out


def lock_errors_in_logs(log_dir: Path) -> list[str]:
    found = []
    for path in log_dir.rglob("*.log"):
        text = path.read_text(errors="replace")
        found += [f"{path}: {pattern}" for pattern in LOCK_PATTERNS for _ in range(text.count(pattern))]
    return found


def task_states(db: Path, run_id: str) -> dict[str, str]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("select task_id, state from task_instance where run_id = ?", (run_id,)).fetchall())
    finally:
        con.close()


def task_logs_missing(db: Path, log_dir: Path) -> list[str]:
    """Tries that ran (start < end) without a log file where the UI reads it."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select run_id, task_id, try_number from task_instance "
            "where dag_id = 'customer_intent' and start_date is not null and end_date > start_date"
        ).fetchall()
    finally:
        con.close()
    base = log_dir / "dag_id=customer_intent"
    return [
        f"{run_id}/{task_id}/{n}"
        for run_id, task_id, n in rows
        if not (base / f"run_id={run_id}" / f"task_id={task_id}" / f"attempt={n}.log").exists()
    ]


def run_seconds(db: Path) -> dict[str, float]:
    """run_id -> end - start of each finished run, as the UI shows its duration."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select run_id, start_date, end_date from dag_run where dag_id = 'customer_intent' and end_date is not null"
        ).fetchall()
    finally:
        con.close()
    out = {}
    for run_id, start, end in rows:
        started, ended = _parse_time(start), _parse_time(end)
        if started and ended:
            out[run_id] = round((ended - started).total_seconds(), 1)
    return out


def stale_values(ledger: Path) -> dict[str, int]:
    """From the activation ledger's runs (their intervals and wall times, not the rule the runs
    applied): values sent by a run of an older interval than one of the same destination that had
    finished (without error) before it started; and what the runs held back as stale."""
    if not ledger.exists():
        return {"stale_values_sent": 0, "stale_held_back": 0, "activation_runs": 0}
    con = sqlite3.connect(ledger)
    try:
        runs = [
            (destination, interval, started, finished, json.loads(counts or "{}"))
            for destination, interval, started, finished, counts in con.execute(
                "select destination, interval_start, started_at, finished_at, counts from activation_runs"
            )
        ]
    finally:
        con.close()
    sent = 0
    for destination, interval, started, _, counts in runs:
        newer_before = any(
            other[0] == destination and other[1] > interval and other[3] is not None and other[3] <= started
            and "error" not in other[4]
            for other in runs
        )  # fmt: skip
        if newer_before:
            sent += int(counts.get("sent_ok", 0))
    held = sum(int(counts.get("stale", 0)) for *_, counts in runs)
    return {"stale_values_sent": sent, "stale_held_back": held, "activation_runs": len(runs)}


class Deployment:
    """A running Airflow of the bench's own (see :func:`start`): its environment (every component's
    and task's, with the api-server's port), its home folders and its components."""

    def __init__(self, base: Path, services: airflow_run.Services, started: float, parallelism: int):
        self.base, self.services, self.started, self.parallelism = base, services, started, parallelism
        self.env = services.env
        self.port = services.port
        self.home = Path(self.env["INTENT_HOME"])
        self.airflow_home = Path(self.env["AIRFLOW_HOME"])
        self.db = self.airflow_home / "airflow.db"


@contextmanager
def start(
    base: Path, port: int | None = None, *, load_dags: bool = False, customer_intent: bool = True,
    parallelism: int = OPERATIONS_PARALLELISM, default_pool_slots: int | None = None, split: bool = True,
    metadata: Path | None = None, extra_env: dict[str, str] | None = None,
) -> Iterator[Deployment]:  # fmt: skip
    """Initialise an Airflow home under ``base`` (scripts/airflow-init.sh: SQLite metadata, the
    warehouse pool), serialize and unpause its DAGs and start its components; stop them on exit.

    ``metadata``: a SQLite metadata DB as ``airflow db migrate`` left it (write-ahead logging, no
    pool of ours; the tests migrate one per test run, tests/airflow_home.py), copied in instead of
    running scripts/airflow-init.sh. Then no CLI process at all (one cost 2.4-3.3 CPU-seconds here: its
    import of Airflow and ``dags reserialize``'s parse, which the dag-processor repeats at its start):
    the components start with the DAGs paused at creation, and once the api-server answers, the
    pools are set and each DAG, serialized by the dag-processor, is unpaused through the REST API
    (:func:`_setup_over_rest`), in the CLI's order: nothing is scheduled before the pools are set.

    The DAGs: customer_intent from dags/, or with ``load_dags`` the trigger-load DAGs
    (``LOAD_DAGS``) in ``base/dags``, beside a copy of customer_intent unless ``customer_intent``
    is false. ``parallelism``: task processes at once
    (the LocalExecutor's). ``default_pool_slots``: the default pool's slots from the start (the
    operations scenario on an Airflow started for the trigger load too keeps its two task processes
    at a time with one: one default-pool task beside the warehouse pool's one). ``extra_env``: more
    variables for every component and task (``INTENT_ENGINE=postgres`` and the server's, in
    tests/test_scheduler_postgres.py)."""
    port = port or free_port()
    env = {**make_env(base, port), **(extra_env or {})}
    env["AIRFLOW__CORE__PARALLELISM"] = str(parallelism)
    dag_ids = ["customer_intent"] if customer_intent else []
    if load_dags:
        dags = base / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        (dags / "load.py").write_text(LOAD_DAGS)
        if customer_intent:
            shutil.copy(ROOT / "dags" / "customer_intent.py", dags / "customer_intent.py")
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
        dag_ids += ["load_busy", "load_target"]
    started = time.monotonic()
    if metadata is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "airflow-init.sh")], env=env, check=True, cwd=ROOT)
        # one CLI process for what follows (each pays about 3 CPU-seconds for importing Airflow)
        commands = [["dags", "reserialize"], *(["dags", "unpause", dag_id] for dag_id in dag_ids)]
        if default_pool_slots is not None:
            commands.append(["pools", "set", DEFAULT_POOL, str(default_pool_slots), DEFAULT_POOL_DESCRIPTION])
        airflow_run.airflow_batch(*commands, env=env)
    else:
        airflow_home = Path(env["AIRFLOW_HOME"])
        airflow_home.mkdir(parents=True, exist_ok=True)
        if (airflow_home / "airflow.db").exists():
            raise FileExistsError(f"{airflow_home / 'airflow.db'} exists: a migrated template goes into a new home")
        shutil.copyfile(metadata, airflow_home / "airflow.db")
        env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "True"  # unpaused by _setup_over_rest
    with airflow_run.Services(env, Path(env["INTENT_HOME"]) / "data" / "logs", port, split=split) as services:
        deployment = Deployment(base, services, started, parallelism)
        if metadata is not None:
            _setup_over_rest(deployment, dag_ids, default_pool_slots)
        yield deployment


def _setup_over_rest(deployment: Deployment, dag_ids: list[str], default_pool_slots: int | None,
                     timeout: float = 600) -> None:  # fmt: skip
    """What :func:`start`'s CLI process does, through the running api-server: the warehouse pool (and
    the default pool's slots), then each DAG unpaused once the dag-processor has serialized it."""
    import urllib.error

    port, home = deployment.port, deployment.airflow_home
    _post(port, home, "/api/v2/pools", {"name": WAREHOUSE_POOL, "slots": 1, "description": WAREHOUSE_POOL_DESCRIPTION})
    if default_pool_slots is not None:
        set_pool_slots(deployment, DEFAULT_POOL, default_pool_slots)
    deadline = time.monotonic() + timeout
    for dag_id in dag_ids:
        while True:
            try:
                airflow_run.rest_get(port, home, f"/api/v2/dags/{dag_id}")
                break
            except urllib.error.HTTPError as error:
                if error.code != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(1)
        _post(port, home, f"/api/v2/dags/{dag_id}", {"is_paused": False}, method="PATCH")


def start_for_both(
    base: Path, port: int | None = None, metadata: Path | None = None, extra_env: dict[str, str] | None = None
) -> AbstractContextManager[Deployment]:
    """One Airflow for the operations scenario and then the trigger load (tests/test_scheduler.py):
    the trigger load's DAGs and parallelism, and the default pool at one slot, so that the
    operations scenario runs two task processes at a time as on its own (one default-pool task
    beside the warehouse pool's one); :func:`trigger_load` gives the default pool its slots back.
    ``extra_env``: as for :func:`start`."""
    return start(base, port, load_dags=True, parallelism=TRIGGER_LOAD_PARALLELISM,
                 default_pool_slots=OPERATIONS_PARALLELISM - 1, metadata=metadata, extra_env=extra_env)  # fmt: skip


def set_pool_slots(deployment: Deployment, pool: str, slots: int) -> None:
    """A pool's slots, through the running api-server's REST API (the scheduler reads them on its next loop)."""
    answer = _post(deployment.port, deployment.airflow_home, f"/api/v2/pools/{pool}?update_mask=slots",
                   {"slots": slots}, method="PATCH")  # fmt: skip
    if answer.get("slots") != slots:
        raise RuntimeError(f"pool {pool}: asked for {slots} slots, the API answered {answer}")


def generate_sample(home: Path, people: int, days: int) -> None:
    """One landing drop a day for ``days`` days up to LAST_DAY, in the installation at ``home``."""
    data = home / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")}
    env.update(INTENT_HOME=str(home), PYTHONPATH=str(ROOT / "plugins"))
    subprocess.run(
        [sys.executable, "-m", "intent_pipeline", "synth", "--people", str(people), "--daily-drops", str(days),
         "--date", LAST_DAY.isoformat(), "--landing", str(data / "landing"), "--truth", str(data / "ground_truth")],
        env=env, check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip


def run(
    people: int, days: int, base: Path, port: int | None = None, timeout: float = 3600,
    deployment: Deployment | None = None,
) -> dict:  # fmt: skip
    """The operations scenario (see the module's doc). ``deployment``: an Airflow already started
    with :func:`start` (customer_intent unpaused, at most two task processes at a time); without it
    the scenario starts its own (the sample first) and stops it at the end."""
    if deployment is None:
        started = time.monotonic()
        generate_sample(base / "home", people, days)
        with start(base, port) as own:
            return _scenario(own, people, days, base, timeout, started, stopping=True)
    generate_sample(deployment.home, people, days)
    return _scenario(deployment, people, days, base, timeout, deployment.started, stopping=False)


def _scenario(
    deployment: Deployment, people: int, days: int, base: Path, timeout: float, started: float, stopping: bool
) -> dict:
    """``stopping``: Airflow stops after the scenario (wait until its scheduler closed the backfill)."""
    env, port = deployment.env, deployment.port
    home, airflow_home = deployment.home, deployment.airflow_home
    data = home / "data"
    first = LAST_DAY - timedelta(days=days - 1)
    wanted = airflow_run.days(first, LAST_DAY)

    serving_db, stop, reader_out = data / "serving" / "warehouse.duckdb", base / "reader.stop", base / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving_db), str(stop), str(reader_out), "1.0"])
    try:
        up = time.monotonic()
        manual = airflow_run.trigger_manual(port, airflow_home, LAST_DAY)
        airflow_run.backfill(env, first, LAST_DAY, timeout)
        states = airflow_run.wait_for(env, wanted, timeout, every=POLL_SECONDS)
        airflow_run.wait_idle(env, timeout, backfills=stopping, every=POLL_SECONDS)
        runs_seconds = time.monotonic() - up
    finally:
        stop.touch()
        reader.wait(timeout=120)
    result = json.loads(reader_out.read_text()) if reader_out.exists() else {"queries": 0, "errors": ["no output"]}

    db = deployment.db
    runs = interval_runs(db)
    per_day = {day.isoformat(): runs.get(day.isoformat(), []) for day in wanted}
    ok_days = [day for day, rs in per_day.items() if sum(1 for r in rs if r[2] == "success") == 1 and len(rs) == 1]
    tries = writer_tries(db)
    overlaps = overlapping_pairs(tries)
    publishes = task_returns(db, "publish")
    builds = task_returns(db, "dbt_build")
    published_versions = [p["version"] for p in publishes]
    seen = set(result.get("versions", []))
    reader_lock_errors = [e for e in result["errors"] if any(p in e for p in LOCK_PATTERNS)]
    other_runs = {day: rs for day, rs in runs.items() if day not in per_day}
    scheduled_skipped = all(
        task_states(db, run_id).get("dbt_build") == "skipped" for rs in other_runs.values() for run_id, _, _ in rs
    )
    publish_seconds = max((p["publish_seconds"] for p in publishes), default=None)
    dbt_seconds = min((b["seconds"] for b in builds), default=None)
    return {
        "people": people,
        "backfill_days": len(ok_days),
        "days": len(wanted),
        "run_states": states,
        "manual_run": next(
            (r[0] for r in per_day.get(LAST_DAY.isoformat(), []) if r[1] == "manual"), manual.get("dag_run_id")
        ),
        "manual_trigger_attempts": manual.get("trigger_attempts"),
        "manual_trigger_seconds": manual.get("trigger_seconds"),
        "runs_per_interval": {day: [r[0] for r in rs] for day, rs in per_day.items()},
        "other_intervals": {day: [f"{r[0]}:{r[2]}" for r in rs] for day, rs in other_runs.items()},
        "no_data_runs_skipped_build": scheduled_skipped,
        "skipped_intervals": sum(1 for rs in per_day.values() if not any(r[2] == "success" for r in rs)),
        "duplicated_intervals": sum(max(0, len(rs) - 1) for rs in per_day.values()),
        "writer_tries": len(tries),
        "overlapping_writers": len(overlaps),
        "overlaps": [list(map(list, pair)) for pair in overlaps],
        "lock_errors": len(lock_errors_in_logs(airflow_home / "logs")) + len(reader_lock_errors),
        "bi_reader_queries": result["queries"],
        "bi_reader_errors": len(result["errors"]),
        "bi_reader_error_examples": result["errors"][:3],
        "bi_snapshots_published": len(published_versions),
        "bi_snapshots_seen": sum(1 for v in published_versions if v in seen),
        "bi_snapshots_missed": sum(1 for v in published_versions if v not in seen),
        **stale_values(home / "data" / "state" / "activation_ledger.sqlite"),
        "publish_seconds": publish_seconds,
        "dbt_build_seconds": dbt_seconds,
        "publish_share_of_dbt_build": round(publish_seconds / dbt_seconds, 4)
        if publish_seconds is not None and dbt_seconds
        else None,
        "snapshot_seconds": max((b.get("snapshot_seconds", 0) for b in builds), default=None),
        "task_logs_missing": task_logs_missing(db, airflow_home / "logs"),
        "run_durations_seconds": run_seconds(db),
        "runs_seconds": round(runs_seconds, 1),
        "wall_seconds": round(time.monotonic() - started, 1),
    }


# A BI session (DBeaver, a notebook) on one DuckDB file, read-only, answering commands on stdin:
# "view" prints what it sees as one JSON line (the serving copy's publication and two marts' figures;
# {} for a file without them), "reopen" reconnects, "quit" closes. Its argv names its role.
HOLDER = textwrap.dedent(
    """
    import json, sys
    import duckdb

    path, role = sys.argv[1], sys.argv[2]
    con = duckdb.connect(path, read_only=True)
    print(json.dumps({"open": role}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "reopen":
            con.close()
            con = duckdb.connect(path, read_only=True)
        try:
            run_id, interval, version = con.execute(
                "select run_id, interval_start, version from serving.published").fetchone()
            people = con.execute("select count(*) from marts.people").fetchone()[0]
            scores = con.execute("select count(*), sum(lead_score) from marts.lead_scores").fetchone()
            view = {"run_id": run_id, "interval_start": str(interval), "version": version, "people": people,
                    "lead_scores": scores[0], "lead_score_sum": scores[1]}
        except duckdb.CatalogException:
            view = {}
        except Exception as error:
            view = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(view, default=str), flush=True)
    con.close()
    """
)


class Holder:
    """A separate process holding ``path`` open read-only (:data:`HOLDER`)."""

    def __init__(self, path: Path, role: str):
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), role], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.pid = self.process.pid
        opened = self._read()
        if opened != {"open": role}:
            raise RuntimeError(f"{role} could not open {path}: {opened}")

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        return json.loads(line) if line else {"error": f"exited with {self.process.poll()}"}

    def ask(self, command: str = "view") -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.communicate("quit\n", timeout=60)


def task_tries(db: Path, run_id: str, task_id: str) -> list[tuple[int, str | None, datetime | None, datetime | None]]:
    """(try number, state, start, end) of every try of a task of a run, oldest first (the tries before
    the current one from ``task_instance_history``); times naive UTC."""
    con = sqlite3.connect(db)
    try:
        rows = []
        for table in ("task_instance_history", "task_instance"):
            rows += con.execute(
                f"select try_number, state, start_date, end_date from {table} "  # noqa: S608 - fixed names
                "where run_id = ? and task_id = ?", (run_id, task_id),
            ).fetchall()  # fmt: skip
    finally:
        con.close()
    tries = {n: (state, _parse_time(start), _parse_time(end)) for n, state, start, end in rows}
    return [(n, *tries[n]) for n in sorted(tries)]


def _try_state(db: Path, run_id: str, task_id: str) -> tuple[str | None, int]:
    con = sqlite3.connect(db)
    try:
        row = con.execute("select state, try_number from task_instance where run_id = ? and task_id = ?",
                          (run_id, task_id)).fetchone()  # fmt: skip
    finally:
        con.close()
    return (row[0], row[1]) if row else (None, 0)


def _run_state(db: Path, run_id: str) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute("select state from dag_run where run_id = ?", (run_id,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def next_scheduled_run_with_readers(deployment: Deployment, timeout: float = 1800) -> dict:
    """The next scheduled run builds and publishes while two BI sessions hold files open (issue 16's
    outside check): one on the serving copy, as BI should; one on the build file, as BI must not.

    On a deployment whose scheduled run of the latest interval ran without data (the operations
    scenario's), that day's landing drop arrives (the CRM's export, unchanged since the sample's
    last day) and the run is cleared, so the scheduler runs that scheduled run again, now with
    data, as an operator does when a drop comes late. While it runs, the serving-copy session keeps one
    connection and is asked what it sees every 2 s; the build-file session holds the warehouse
    until ``dbt_build``'s first try has failed, then quits, and the task's retry (Airflow's
    ``[core] default_task_retry_delay`` later: 120 s in the project's setups, a few seconds in
    tests/test_scheduler.py) builds. Afterwards the serving-copy session reconnects and a new session
    opens. Returns the figures tests/test_scheduler.py asserts, with each try of ``dbt_build``
    since the clear (state, start, end) and when the build-file session had quit."""
    db, home = deployment.db, deployment.home
    data = home / "data"
    con = sqlite3.connect(db)
    try:
        run_id, interval = con.execute(
            "select run_id, data_interval_start from dag_run where dag_id = 'customer_intent' and "
            "run_type = 'scheduled' order by data_interval_start desc limit 1"
        ).fetchone()
    finally:
        con.close()
    day = date.fromisoformat(str(interval)[:10])
    before_state = task_states(db, run_id)
    # The day's drop: the CRM's daily export, unchanged since LAST_DAY's (the same leads, deals and
    # activities; no forms, email or web files). A generated drop of another day would not be the
    # same world: the generator draws people's phones anew, and the marts gate rightly stops people
    # who hold several phones (people.contradicting_identifiers).
    crm = data / "landing" / "crm"
    (crm / f"dt={day}").mkdir(parents=True, exist_ok=True)
    for export in sorted((crm / f"dt={LAST_DAY}").iterdir()):
        name = export.name.replace(LAST_DAY.strftime("%Y%m%d"), day.strftime("%Y%m%d"))
        shutil.copyfile(export, crm / f"dt={day}" / name)
    serving_db, warehouse = data / "serving" / "warehouse.duckdb", data / "warehouse.duckdb"
    bi = Holder(serving_db, "bi-on-the-serving-copy")
    wrong: Holder | None = Holder(warehouse, "bi-on-the-build-file")
    assert wrong is not None
    wrong_pid = wrong.pid
    held_views: list[dict] = []
    first_try_log, released_at_try, built_while_held, released_at = "", None, None, None
    tries_before = _try_state(db, run_id, "dbt_build")[1]
    try:
        held_views.append(bi.ask())
        from urllib.parse import quote

        _post(deployment.port, deployment.airflow_home,
              f"/api/v2/dags/customer_intent/dagRuns/{quote(run_id, safe='')}/clear", {"dry_run": False})  # fmt: skip
        deadline, asked = time.monotonic() + timeout, time.monotonic()
        while True:
            # while the build file is held, look often: the session must quit before the retry starts
            time.sleep(0.5 if wrong is not None else 2)
            if time.monotonic() - asked >= 2:
                held_views.append(bi.ask())
                asked = time.monotonic()
            state, try_number = _try_state(db, run_id, "dbt_build")
            # (a cleared task's tries go on counting: its first try after the clear is not try 1)
            if wrong is not None and state in ("up_for_retry", "failed", "success"):
                released_at_try = try_number - tries_before
                built_while_held = state == "success"
                wrong.close()
                wrong = None
                released_at = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the metadata DB's times
                log = (deployment.airflow_home / "logs" / "dag_id=customer_intent" / f"run_id={run_id}"
                       / "task_id=dbt_build" / f"attempt={try_number}.log")  # fmt: skip
                first_try_log = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            if wrong is None and _run_state(db, run_id) in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{run_id} not finished after {timeout} s (dbt_build {state}, try {try_number})")
        held_views.append(bi.ask())
        reopened = bi.ask("reopen")
    finally:
        bi.close()
        if wrong is not None:
            wrong.close()
    fresh = Holder(serving_db, "bi-opened-after")
    try:
        new_reader = fresh.ask()
    finally:
        fresh.close()
    finished = _wait_run(deployment.airflow_home, run_id, timeout=60)
    holder_lines = [line for line in first_try_log.splitlines() if "held open by another process" in line]
    distinct = [dict(v) for v in {json.dumps(v, sort_keys=True): v for v in held_views}.values()]
    return {
        "run_id": run_id,
        "interval_start": day.isoformat(),
        "dbt_build_before": before_state.get("dbt_build"),
        "run_state": finished["state"],
        "run_type": finished["run_type"],
        "tasks": finished["tasks"],
        "dbt_build_tries": _try_state(db, run_id, "dbt_build")[1] - tries_before,  # since the clear
        # [state, start, end] of each try since the clear, in order; when the build-file session had quit
        "dbt_build_tries_since_clear": [
            [state, str(start), str(end)]
            for number, state, start, end in task_tries(db, run_id, "dbt_build")
            if number > tries_before
        ],
        "build_file_released_at": str(released_at) if released_at else None,
        "released_at_try": released_at_try,  # the try (since the clear) that ended while the build file was held
        "built_while_held": built_while_held,
        "build_file_holder_pid": wrong_pid,
        "first_try_holder_lines": holder_lines,
        "held_views": distinct,
        "held_view_queries": len(held_views),
        "reopened_view": reopened,
        "new_reader_view": new_reader,
        "published": json.loads((data / "serving" / "published.json").read_text()),
    }


def publish_only(people: int, base: Path, seed: int = 42) -> dict:
    """One dbt build and two publishes of its marts, with the DAG's task functions, timed."""
    home = base / "home"
    for name in [k for k in os.environ if k.startswith("INTENT_")]:
        del os.environ[name]
    os.environ["INTENT_HOME"] = str(home)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline import pipeline
    from intent_pipeline.serving import serving_database, snapshot_path
    from intent_pipeline.settings import SOURCES, Settings
    from intent_pipeline.sources import extract_source

    settings = Settings.from_env()
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "intent_pipeline", "synth", "--people", str(people), "--seed", str(seed),
         "--date", LAST_DAY.isoformat(), "--landing", settings.landing_url, "--truth", str(home / "data" / "truth")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")}, check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    synth_seconds = time.monotonic() - started
    start, end = pipeline.interval_dates(LAST_DAY)
    extract_started = time.monotonic()
    read = 0
    for source in SOURCES:
        manifest = extract_source(source, settings, LAST_DAY, batch_id=f"bench/{source}", loaded_at=datetime.now())
        read += sum(counts["read"] for counts in manifest["tables"].values())
    extract_seconds = time.monotonic() - extract_started
    run_id = f"bench__{LAST_DAY.isoformat()}"
    build = pipeline.dbt_build_task(start, end, run_id)
    first = pipeline.publish_task(start, end, run_id)
    again = pipeline.publish_task(start, end, run_id)
    dbt_seconds = build["seconds"]
    parquet = Path(again["parquet"]).resolve()
    return {
        "mode": "publish_only",
        "people": people,
        "landing_rows_read": read,
        "dbt_build_seconds": dbt_seconds,
        "dbt_nodes": build["nodes"],
        "snapshot_seconds": build["snapshot_seconds"],
        "publish_seconds": again["publish_seconds"],
        "publish_first_seconds": first["publish_seconds"],
        "publish_share_of_dbt_build": round(again["publish_seconds"] / dbt_seconds, 4),
        "publish_first_share_of_dbt_build": round(first["publish_seconds"] / dbt_seconds, 4),
        "marts": len(again["marts"]),
        "mart_rows": sum(again["marts"].values()),
        "warehouse_mb": round(settings.warehouse.stat().st_size / 1e6, 1),
        "snapshot_mb": round(snapshot_path(settings, run_id).stat().st_size / 1e6, 1),
        "serving_mb": round(serving_database(settings).stat().st_size / 1e6, 1),
        "parquet_mb": round(sum(f.stat().st_size for f in parquet.glob("*.parquet")) / 1e6, 1),
        "synth_seconds": round(synth_seconds, 1),
        "extract_seconds": round(extract_seconds, 1),
        "wall_seconds": round(time.monotonic() - started, 1),
    }


LOAD_DAGS = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import dag, task


    @dag(dag_id="load_busy", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False, max_active_runs=4, max_active_tasks=16)
    def load_busy():
        @task
        def work(i: int) -> dict:
            import time

            time.sleep(0.5)
            return {"i": i}

        work.expand(i=list(range(60)))


    @dag(dag_id="load_target", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def load_target():
        @task
        def noop() -> None:
            return None

        noop()


    load_busy()
    load_target()
    """
)


def _post(
    port: int, airflow_home: Path, path: str, body: dict, timeout: float = 180, headers: dict | None = None,
    method: str = "POST",
) -> dict:  # fmt: skip
    """``method`` (POST, PATCH) ``path`` of the REST API with a JSON body, as the admin user; the JSON answer."""
    import urllib.request

    request = urllib.request.Request(
        f"http://localhost:{port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {airflow_run.api_token(port, airflow_home)}", **(headers or {})},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def trigger_load(
    base: Path, triggers: int = 12, split: bool = True, busy_runs: int = 3, ui_trigger: bool = False,
    deployment: Deployment | None = None,
) -> dict:  # fmt: skip
    """REST triggers timed while another DAG's tasks call the execution API (see the module's doc).

    ``ui_trigger``: customer_intent is in the DAG folder too and gets, first, a trigger as the UI's
    form sends it by default (logical date "now", no data interval, a Referer header); the result
    has ``ui_trigger``: that run's dates, state and task states, and whether its first tasks
    refused it with the convention's message (pipeline.convention_error).

    ``deployment``: an Airflow already started with :func:`start` with ``load_dags`` and
    ``parallelism=TRIGGER_LOAD_PARALLELISM`` (after the operations scenario, tests/test_scheduler.py);
    its default pool gets its usual slots back first. Without it the scenario starts its own. Once
    the triggers are sent and the load's task states read, the load DAG is paused: the mapped tasks
    still queued would only keep the machine busy."""
    if deployment is None:
        with start(base, load_dags=True, customer_intent=ui_trigger, parallelism=TRIGGER_LOAD_PARALLELISM,
                   split=split) as own:  # fmt: skip
            return _trigger_load(own, triggers, busy_runs, ui_trigger)
    if (deployment.services.exec_port is not None) != split:
        raise ValueError(f"split={split}, but the deployment runs {'two api-servers' if not split else 'one'}")
    set_pool_slots(deployment, DEFAULT_POOL, DEFAULT_POOL_SLOTS)
    return _trigger_load(deployment, triggers, busy_runs, ui_trigger)


def _trigger_load(deployment: Deployment, triggers: int, busy_runs: int, ui_trigger: bool) -> dict:
    port, airflow_home, db = deployment.port, deployment.airflow_home, deployment.db
    seconds: list[float] = []
    errors: list[str] = []
    ui_run: dict = {}
    if ui_trigger:
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        ui_run = _post(port, airflow_home, "/api/v2/dags/customer_intent/dagRuns",
                       {"logical_date": now, "data_interval_start": None, "data_interval_end": None, "conf": {}},
                       headers={"Referer": f"http://localhost:{port}/dags/customer_intent"})  # fmt: skip
    for _ in range(busy_runs):
        _post(port, airflow_home, "/api/v2/dags/load_busy/dagRuns", {"logical_date": None})
    started = time.monotonic()
    while not _tasks_running(db, "load_busy"):
        if time.monotonic() - started > 600:
            raise RuntimeError("the load DAG's tasks never started")
        time.sleep(1)
    for _ in range(triggers):
        sent = time.monotonic()
        try:
            _post(port, airflow_home, "/api/v2/dags/load_target/dagRuns", {"logical_date": None})
        except OSError as error:  # HTTPError (500), a timeout
            errors.append(f"{type(error).__name__}: {error}")
        seconds.append(round(time.monotonic() - sent, 2))
        time.sleep(1)
    busy = _task_states(db, "load_busy")
    _post(port, airflow_home, "/api/v2/dags/load_busy", {"is_paused": True}, method="PATCH")
    ui_result = _wait_run(airflow_home, ui_run["dag_run_id"]) if ui_trigger else None
    return {
        "ui_trigger": ui_result,
        "mode": "trigger_load",
        "api_servers": 2 if deployment.services.exec_port is not None else 1,
        "triggers": triggers,
        "trigger_seconds": seconds,
        "trigger_max_seconds": max(seconds),
        "triggers_failed": len(errors),
        "trigger_errors": errors[:3],
        "load_task_states": busy,
    }


def _wait_run(airflow_home: Path, run_id: str, timeout: float = 900) -> dict:
    """The run once finished: its dates, type, triggered_by, state, task states, and whether a task
    log holds the convention's refusal."""
    db = airflow_home / "airflow.db"
    deadline = time.monotonic() + timeout
    while True:
        con = sqlite3.connect(db)
        try:
            row = con.execute(
                "select run_type, triggered_by, state, logical_date, data_interval_start, data_interval_end "
                "from dag_run where run_id = ?",
                (run_id,),
            ).fetchone()
            tasks = dict(con.execute("select task_id, state from task_instance where run_id = ?", (run_id,)))
        finally:
            con.close()
        if row and row[2] in ("success", "failed"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run_id} not finished after {timeout} s")
        time.sleep(3)
    logs = airflow_home / "logs" / "dag_id=customer_intent" / f"run_id={run_id}"
    refused = [path.parent.name.removeprefix("task_id=") for path in logs.rglob("*.log")
               if "is not the start of its data interval" in path.read_text(errors="replace")]  # fmt: skip
    keys = ("run_type", "triggered_by", "state", "logical_date", "data_interval_start", "data_interval_end")
    return {"run_id": run_id, **dict(zip(keys, row, strict=True)), "tasks": tasks, "refused_by": sorted(refused)}


def _task_states(db: Path, dag_id: str) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select coalesce(state, 'none'), count(*) from task_instance where dag_id = ? group by 1", (dag_id,)
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _tasks_running(db: Path, dag_id: str) -> bool:
    return _task_states(db, dag_id).get("running", 0) > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--port", type=int, default=None, help="api-server port (default: a free one)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--publish-only", action="store_true",
        help="no scheduler: one dbt build and two publishes, timed (the publish_seconds goal at --people 100000)",
    )  # fmt: skip
    parser.add_argument("--trigger-load", action="store_true", help="time REST triggers while tasks run")
    parser.add_argument("--triggers", type=int, default=12, help="--trigger-load: how many triggers")
    parser.add_argument(
        "--single-api-server", action="store_true",
        help="--trigger-load: one api-server for the REST and the execution API (as airflow standalone)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-operations-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        if args.trigger_load:
            figures = trigger_load(base, args.triggers, split=not args.single_api_server, ui_trigger=True)
            print(json.dumps(figures))
            return 0 if figures["triggers_failed"] == 0 else 1
        if args.publish_only:
            figures = publish_only(args.people, base)
            print(json.dumps(figures))
            return 0 if figures["publish_share_of_dbt_build"] <= 0.05 else 1
        figures = run(args.people, args.days, base, args.port)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(figures))
    ok = figures["skipped_intervals"] == 0 and figures["overlapping_writers"] == 0 and figures["lock_errors"] == 0
    ok = ok and figures["stale_values_sent"] == 0
    return 0 if ok and figures["bi_reader_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
