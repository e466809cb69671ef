"""Run customer_intent intervals through the real Airflow scheduler (what `make run` does).

    python scripts/airflow_run.py --from 2026-11-21 [--to 2026-11-23] [--port 8080]

Needs the environment of scripts/env.sh and an initialised home (scripts/airflow-init.sh).
Creates a backfill of the days (logical date = interval start, the DAG's one convention;
completed runs of those days are run again), and waits for its runs. When no scheduler is
alive in this Airflow home it starts the api-server, scheduler and dag-processor for the
duration (their logs under data/logs/airflow-*.log) and stops them afterwards; with
`make airflow-ui` running, that one does the work. Task logs land in the Airflow home's
logs folder, so the UI shows them, and the runs' start and end times are real.
The last line printed is a JSON object: {"runs": {date: state}, "seconds": ...}.

    python scripts/airflow_run.py --serve [--port 8080]      (make airflow-ui)

starts the same components and keeps them running until interrupted (the UI on --port).

The api-server runs as two processes: the UI and REST API (``--apps core``, on --port) and the
task execution API (``--apps execution``, on INTENT_AIRFLOW_EXECUTION_PORT, default 8091). With
SQLite metadata, one process serving both deadlocks: the REST API writes its audit-log row
(``action_logging``) with a synchronous commit on the server's event loop; when a task's
execution-API request in the same process has begun writing, that request's commit needs the
event loop, and the audit-log row waits for its lock until SQLite's busy timeout (60 s here),
then the trigger answers 500 (docs/operations.md, "The REST trigger's 60 s stall").

Every start of the components (``Services``: make run, make airflow-ui, bench/operations.py, the
scheduler test) gives them one signing key for the tokens the scheduler issues to its tasks and the
execution API checks (:func:`component_env`), and writes the home's ``config/airflow_local_settings.py``
so that the scheduler imports the tasks' heavy modules before its LocalExecutor forks them
(:func:`install_local_settings`, intent_pipeline/airflow_preload.py).
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

DAG_ID = "customer_intent"
FINISHED = {"success", "failed"}


def airflow(
    *args: str, env: dict | None = None, check: bool = True, retry_locked: bool = True
) -> subprocess.CompletedProcess:
    """An airflow CLI command; retried while SQLite's metadata DB is locked by another component
    (the scheduler and the api-server write it too; the failed transaction was rolled back)."""
    for attempt in range(10 if retry_locked else 1):
        done = subprocess.run(["airflow", *args], env=env, capture_output=True, text=True)
        if done.returncode == 0 or "database is locked" not in done.stderr:
            break
        time.sleep(2 + attempt)
    if check and done.returncode != 0:
        output = f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{output}")
    return done


def execution_port(env: dict | None = None) -> int:
    """Port of the task execution API (its own api-server process; see the module's doc)."""
    return int((os.environ if env is None else env).get("INTENT_AIRFLOW_EXECUTION_PORT", "8091"))


def with_port(env: dict, port: int, exec_port: int | None = None) -> dict:
    """The environment of every component and task process for an api-server on ``port`` (UI and
    REST API) and the task execution API on ``exec_port`` (None: the same server, ``--apps all``)."""
    return {
        # SQLite metadata and two cores: the api-server can take longer than the default 5 s to answer
        # a task's first call while the scheduler writes; a timed-out task would wait for its retry.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        **env,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{exec_port or port}/execution/",
    }


# The home's config/airflow_local_settings.py as this script writes it (the first line marks it ours).
LOCAL_SETTINGS = '''"""Written by scripts/airflow_run.py: the scheduler imports the tasks' heavy modules before forking.

Airflow imports this file in every process of the home; intent_pipeline.airflow_preload acts in
``airflow scheduler`` only. Replace this file with your own and the script leaves it alone.
"""

from intent_pipeline.airflow_preload import preload

__all__: list[str] = []  # no cluster policy here

preload()
'''


def install_local_settings(airflow_home: Path) -> bool:
    """Write :data:`LOCAL_SETTINGS` as ``airflow_home/config/airflow_local_settings.py`` unless a file
    of someone else's is there (then it is kept, and this says so); True when ours is in place."""
    path = airflow_home / "config" / "airflow_local_settings.py"
    if path.exists() and path.read_text().splitlines()[:1] != LOCAL_SETTINGS.splitlines()[:1]:
        print(f"{path} is not the one scripts/airflow_run.py writes: kept; the scheduler does not preload "
              "the tasks' imports (intent_pipeline/airflow_preload.py)", file=sys.stderr)  # fmt: skip
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != LOCAL_SETTINGS:
        path.write_text(LOCAL_SETTINGS)
    return True


# (environment variable, airflow.cfg section, option, bytes of a generated value)
SIGNING_KEYS = (("AIRFLOW__API_AUTH__JWT_SECRET", "api_auth", "jwt_secret", 64),
                ("AIRFLOW__API__SECRET_KEY", "api", "secret_key", 32))  # fmt: skip


def component_env(env: dict) -> dict:
    """``env`` with one JWT signing key and one API secret key for every component started with it.
    The scheduler signs its tasks' tokens, the execution API checks them: components that each took
    the key of the airflow.cfg they found, or generated one when they started before the file was
    written (a new home), disagree, and every task fails with "Invalid auth token". Kept from ``env``
    when set there, else the home's airflow.cfg's (a UI login survives a restart), else generated."""
    config = configparser.ConfigParser(interpolation=None, strict=False)
    home = Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow")
    config.read(home / "airflow.cfg")
    out = dict(env)
    for name, section, option, size in SIGNING_KEYS:
        if not out.get(name):
            out[name] = config.get(section, option, fallback="") or secrets.token_urlsafe(size)
    return out


class Services:
    """api-server(s), scheduler and dag-processor of one Airflow home, started and stopped by us.

    ``exec_port``: the task execution API runs in an api-server process of its own on that port
    (the default; see the module's doc for the deadlock it avoids); ``split=False``: one
    api-server serves both, as ``airflow standalone`` does (for comparison: bench/operations.py
    --trigger-load --single-api-server)."""

    def __init__(self, env: dict, log_dir: Path, port: int, exec_port: int | None = None, split: bool = True):
        self.exec_port = (exec_port or execution_port(env)) if split else None
        self.env, self.log_dir, self.port = with_port(component_env(env), port, self.exec_port), log_dir, port
        self.processes: list[subprocess.Popen] = []

    def components(self) -> list[tuple[str, list[str]]]:
        """(log name, command) of each process."""
        if self.exec_port is None:
            servers = [("api-server", ["api-server", "--port", str(self.port)])]
        else:
            servers = [
                ("api-server", ["api-server", "--apps", "core", "--port", str(self.port)]),
                ("api-server-execution", ["api-server", "--apps", "execution", "--port", str(self.exec_port)]),
            ]
        return [*servers, ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])]

    def __enter__(self) -> Services:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        install_local_settings(Path(self.env.get("AIRFLOW_HOME") or Path.home() / "airflow"))
        for name, args in self.components():
            log = open(self.log_dir / f"airflow-{name}.log", "ab")  # noqa: SIM115 - closed with the process
            # own process group: stopping it stops the component's worker processes too
            self.processes.append(
                subprocess.Popen(
                    ["airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://localhost:{self.port}/api/v2/monitor/health"
        execution = f"http://localhost:{self.exec_port or self.port}/execution/health"
        while True:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args} exited with {process.returncode}; see {self.log_dir}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    health = json.loads(response.read())
                if health.get("scheduler", {}).get("status") == "healthy":
                    with urllib.request.urlopen(execution, timeout=5):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow not healthy after {timeout} s ({url}); see {self.log_dir}")
            time.sleep(2)

    def __exit__(self, *exc) -> None:
        # The scheduler and the dag-processor first, the api-servers once they have stopped: the
        # scheduler's executor lets the task processes it started finish, and those report to the
        # execution API (stopped with the rest, they would retry a refused connection until killed).
        named = list(zip((name for name, _ in self.components()), self.processes, strict=False))
        servers = [process for name, process in named if name.startswith("api-server")]
        for group in ([process for process in self.processes if process not in servers], servers):
            for process in group:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in group:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def scheduler_alive(env: dict) -> bool:
    return airflow("jobs", "check", "--job-type", "SchedulerJob", env=env, check=False).returncode == 0


# ``airflow <args>`` for each list of args in argv[1] (JSON), in this one process, as the CLI does
# (its parser and command functions): each CLI process pays about 3 CPU-seconds for importing Airflow.
_CLI_BATCH = """
import json, sys
from airflow.cli.cli_parser import get_parser
for args in json.loads(sys.argv[1]):
    parsed = get_parser().parse_args(args)
    parsed.func(parsed)
"""


def airflow_batch(*commands: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """Several airflow CLI commands in one process, in order; all of them again while SQLite's
    metadata DB is locked (use it for commands that can be repeated: reserialize, unpause, ...)."""
    for attempt in range(10):
        done = subprocess.run(
            [sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, capture_output=True, text=True
        )
        if done.returncode == 0 or "database is locked" not in done.stderr:
            break
        time.sleep(2 + attempt)
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        raise RuntimeError(f"airflow {commands} failed ({done.returncode}):\n{output}")
    return done


def prepare(env: dict) -> None:
    """The DAG serialized in the metadata DB (backfills read it) and unpaused (nothing runs while paused)."""
    airflow_batch(["dags", "reserialize"], ["dags", "unpause", DAG_ID], env=env)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _api(env: dict) -> tuple[int, Path]:
    return int(env.get("AIRFLOW__API__PORT", "8080")), Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow")


def backfill(env: dict, first: date, last: date, timeout: float = 3600) -> None:
    """One run per day, logical date = interval start, oldest first, one at a time; completed
    runs of those days are cleared and run again. Airflow allows one running backfill per DAG:
    while another one runs, wait for it. A create that reported an error (SQLite locked by the
    scheduler) may still have created the backfill in an earlier commit: it is looked up before
    trying again, so a day is never backfilled twice.

    Created through the REST API when this home's api-server answers (``POST /api/v2/backfills``,
    the same arguments as ``airflow backfill create`` below; the server creates it as the CLI does),
    else with the CLI, a process of its own (about 3 CPU-seconds of imports)."""
    port, home = _api(env)
    before = _backfills_or_none(port, home)
    known = {b["id"] for b in before or []}
    deadline = time.monotonic() + timeout
    while True:
        if before is not None:
            returncode, error, retryable = _create_backfill_rest(port, home, first, last)
        else:
            done = airflow(
                "backfill", "create", "--dag-id", DAG_ID, "--from-date", first.isoformat(),
                "--to-date", last.isoformat(), "--reprocess-behavior", "completed", "--max-active-runs", "1",
                env=env, check=False, retry_locked=False,
            )  # fmt: skip
            returncode, error = done.returncode, done.stderr
            retryable = "AlreadyRunningBackfill" in error or "database is locked" in error
        if returncode == 0:
            return
        span = (first.isoformat(), last.isoformat())
        after = _backfills_or_none(port, home) if before is not None else None
        ours = [b for b in after or [] if b["id"] not in known and (b["from_date"][:10], b["to_date"][:10]) == span]
        if ours:
            return
        if not retryable or time.monotonic() > deadline:
            raise RuntimeError(f"airflow backfill create failed ({returncode}):\n{error[-3000:]}")
        if "AlreadyRunningBackfill" in error:
            print("another backfill of customer_intent is running: waiting for it", file=sys.stderr)
        time.sleep(10)


def _create_backfill_rest(port: int, airflow_home: Path, first: date, last: date) -> tuple[int, str, bool]:
    """``POST /api/v2/backfills``: (0, "", False) once created, else (the HTTP status or 1, the error,
    whether to try again: another backfill runs (409, named "AlreadyRunningBackfill" as the CLI
    does), SQLite stayed locked (503) or no answer; :func:`backfill` first looks for it)."""
    body = {
        "dag_id": DAG_ID,
        "from_date": f"{first.isoformat()}T00:00:00Z",
        "to_date": f"{last.isoformat()}T00:00:00Z",
        "reprocess_behavior": "completed",
        "max_active_runs": 1,
    }
    try:
        # longer than the metadata DB's 60 s busy timeout: the server's own answer comes first
        rest_get(port, airflow_home, "/api/v2/backfills", timeout=180, body=body)
        return 0, "", False
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:3000]
        name = "AlreadyRunningBackfill: " if error.code == 409 else ""
        return error.code, f"{name}HTTP {error.code}: {detail}", error.code in (409, 503)
    except OSError as error:  # no answer in time, connection refused or reset
        return 1, f"POST /api/v2/backfills: {type(error).__name__}: {error}", True


def api_token(port: int, airflow_home: Path, username: str = "admin") -> str:
    """A JWT of the simple auth manager for ``username`` (password from the generated file)."""
    passwords = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
    request = urllib.request.Request(
        f"http://localhost:{port}/auth/token",
        data=json.dumps({"username": username, "password": passwords[username]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


_tokens: dict[tuple[int, Path], str] = {}


def rest_get(port: int, airflow_home: Path, path: str, timeout: float = 60, body: dict | None = None) -> dict:
    """GET ``path`` of the REST API as the admin user (with ``body``: POST it as JSON). The token is
    asked for once per server and asked for again when refused (it expires after a day by default)."""
    for attempt in range(2):
        key = (port, airflow_home)
        if key not in _tokens:
            _tokens[key] = api_token(port, airflow_home)
        headers = {"Authorization": f"Bearer {_tokens[key]}"}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"http://localhost:{port}{path}", data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code not in (401, 403) or attempt == 1:
                raise
            _tokens.pop(key, None)
    raise AssertionError("unreachable")


def trigger_manual(port: int, airflow_home: Path, day: date) -> dict:
    """A manual run of the interval starting ``day`` that keeps the DAG's convention (logical date
    = interval start), through the REST API, which takes the data interval explicitly (the CLI's
    and the UI's trigger infer ``[day - 1, day)`` from the logical date instead). Airflow refuses it
    (409) when a run of that logical date exists: clear that run instead. The answer carries
    ``trigger_attempts`` and ``trigger_seconds`` (every attempt, in seconds): more than one attempt
    means the server failed (500) or did not answer in time, and the trigger was sent again."""
    end = day + timedelta(days=1)
    body = {
        "logical_date": f"{day.isoformat()}T00:00:00Z",
        "data_interval_start": f"{day.isoformat()}T00:00:00Z",
        "data_interval_end": f"{end.isoformat()}T00:00:00Z",
        "conf": {},
    }
    seconds: list[float] = []
    for attempt in range(5):
        sent = time.monotonic()
        request = urllib.request.Request(
            f"http://localhost:{port}/api/v2/dags/{DAG_ID}/dagRuns",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_token(port, airflow_home)}"},
        )
        try:
            # longer than the metadata DB's 60 s busy timeout (airflow_sqlite.py): the server's own
            # answer (a 500 when SQLite stayed locked) arrives before the client gives up
            with urllib.request.urlopen(request, timeout=180) as response:
                answer = json.loads(response.read())
                seconds.append(round(time.monotonic() - sent, 2))
                return answer | {"trigger_attempts": attempt + 1, "trigger_seconds": seconds}
        except urllib.error.HTTPError as error:
            seconds.append(round(time.monotonic() - sent, 2))
            # 500: the metadata DB stayed locked (with one api-server process for the REST and the
            # execution API, a deadlock: see the module's doc); a 409 on the retry: the run was created
            if error.code == 409 and attempt > 0:
                conflict = error.read().decode(errors="replace")[:500]
                return {"dag_run_id": None, "conflict": conflict, "trigger_attempts": attempt + 1,
                        "trigger_seconds": seconds}  # fmt: skip
            if error.code != 500 or attempt == 4:
                raise
        except TimeoutError:
            seconds.append(round(time.monotonic() - sent, 2))
            if attempt == 4:
                raise
        time.sleep(5 * (attempt + 1))
    raise AssertionError("unreachable")


def list_runs(env: dict) -> list[dict]:
    """The DAG's runs (run_id, logical_date, state, ...): from the REST API when this Airflow home's
    api-server answers (a poll costs the server milliseconds), else ``airflow dags list-runs`` (a CLI
    process: about 3 CPU-seconds of imports a call)."""
    port, home = _api(env)
    try:
        return _rest_runs(port, home)
    except (OSError, KeyError, ValueError):
        pass
    done = airflow("dags", "list-runs", DAG_ID, "-o", "json", env=env)
    # warnings (graphviz, ...) may precede the JSON on stdout
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("["):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return []


def _rest_runs(port: int, airflow_home: Path, page: int = 100) -> list[dict]:
    """Every run of the DAG through the REST API, in the CLI's fields (run_id, logical_date, state)."""
    runs: list[dict] = []
    while True:
        answer = rest_get(port, airflow_home, f"/api/v2/dags/{DAG_ID}/dagRuns?limit={page}&offset={len(runs)}"
                                              "&order_by=id")  # fmt: skip
        batch = answer["dag_runs"]
        runs += [{**run, "run_id": run["dag_run_id"], "logical_date": run.get("logical_date") or ""} for run in batch]
        if not batch or len(runs) >= answer.get("total_entries", 0):
            return runs


def run_states(env: dict, wanted: list[date]) -> dict[str, str | None]:
    states: dict[str, str | None] = {day.isoformat(): None for day in wanted}
    for run in list_runs(env):
        day = (run.get("logical_date") or "")[:10]
        if day in states:
            states[day] = run["state"]
    return states


def wait_for(env: dict, wanted: list[date], timeout: float, every: float = 3) -> dict[str, str | None]:
    """The states of the runs of ``wanted`` once all are finished, asked every ``every`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        states = run_states(env, wanted)
        if all(state in FINISHED for state in states.values()):
            return states
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs not finished after {timeout} s: {states}")
        time.sleep(every)


def list_backfills(port: int, airflow_home: Path) -> list[dict]:
    """The DAG's backfills (REST API: id, from_date, to_date, completed_at, ...)."""
    return rest_get(port, airflow_home, f"/api/v2/backfills?dag_id={DAG_ID}&limit=100&order_by=-id").get(
        "backfills", []
    )


def _backfills_or_none(port: int, airflow_home: Path) -> list[dict] | None:
    """The backfills, or None when the REST API cannot be used (another api-server port, no password file)."""
    try:
        return list_backfills(port, airflow_home)
    except (OSError, KeyError, ValueError):
        return None


def backfills_open(port: int, airflow_home: Path) -> int:
    """How many backfills of the DAG the scheduler has not marked complete yet."""
    return sum(1 for backfill in list_backfills(port, airflow_home) if not backfill.get("completed_at"))


def wait_idle(env: dict, timeout: float, backfills: bool = True, every: float = 3) -> None:
    """Wait until no run of the DAG is queued or running (the scheduled run the scheduler creates
    for the latest interval when it sees the DAG unpaused), so stopping Airflow interrupts nothing,
    and (``backfills``) until the scheduler marked the backfill complete (it checks every 30 s): a
    backfill left open would make the next one wait for a scheduler to close it (no need when the
    components keep running: their scheduler closes it). The runs are asked for every ``every`` seconds."""
    deadline = time.monotonic() + timeout
    while any(run["state"] in ("queued", "running") for run in list_runs(env)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs of {DAG_ID} still active after {timeout} s")
        time.sleep(every)
    if not backfills:
        return
    port, home = _api(env)
    while time.monotonic() < deadline:
        try:
            if backfills_open(port, home) == 0:
                return
        except (OSError, KeyError, ValueError) as error:  # no REST access: the next backfill waits instead
            print(f"could not read the backfills ({error}); not waiting for them", file=sys.stderr)
            return
        time.sleep(5)


def run_days(env: dict, first: date, last: date, *, port: int, log_dir: Path, timeout: float = 3600) -> dict:
    started = time.monotonic()
    prepare(env)
    wanted = days(first, last)
    if scheduler_alive(env):
        backfill(env, first, last, timeout)
        states = wait_for(env, wanted, timeout)
    else:
        with Services(env, log_dir, port) as services:
            print(f"Airflow started in {time.monotonic() - started:.0f} s (logs: {log_dir})", file=sys.stderr)
            backfill(services.env, first, last, timeout)
            states = wait_for(services.env, wanted, timeout)
            wait_idle(services.env, timeout)
    return {"runs": states, "seconds": round(time.monotonic() - started, 1)}


def serve(env: dict, *, port: int, log_dir: Path) -> int:
    """Start the components and keep them running until interrupted (make airflow-ui)."""
    prepare(env)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    with Services(env, log_dir, port) as services:
        home = Path(services.env.get("AIRFLOW_HOME") or Path.home() / "airflow")
        print(
            f"Airflow UI: http://localhost:{port} (users and passwords: "
            f"{home / 'simple_auth_manager_passwords.json.generated'}); task execution API on port "
            f"{services.exec_port}; logs: {log_dir}/airflow-*.log. Ctrl-C stops it.",
            file=sys.stderr,
        )
        try:
            while not stop:
                for process in services.processes:
                    if process.poll() is not None:
                        print(f"{process.args} exited with {process.returncode}; stopping", file=sys.stderr)
                        return 1
                time.sleep(2)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="first", type=date.fromisoformat, help="first interval start")
    parser.add_argument("--to", dest="last", type=date.fromisoformat, help="last interval start (default: --from)")
    parser.add_argument("--serve", action="store_true", help="start Airflow and keep it running (make airflow-ui)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("INTENT_AIRFLOW_PORT", "8080")))
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    home = Path(os.environ.get("INTENT_HOME") or Path(__file__).resolve().parents[1])
    if args.serve:
        return serve(dict(os.environ), port=args.port, log_dir=home / "data" / "logs")
    if args.first is None:
        parser.error("--from is required (or --serve)")
    result = run_days(
        dict(os.environ), args.first, args.last or args.first, port=args.port, log_dir=home / "data" / "logs",
        timeout=args.timeout,
    )  # fmt: skip
    print(json.dumps(result))
    return 0 if all(state == "success" for state in result["runs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
