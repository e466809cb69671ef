"""The dbt fork server (intent_pipeline.dbt_fork) against the dbt subprocess it stands in for.

A small dbt project of its own on a real DuckDB file (a model, a data test, a failing model), run
once through a real fork server and once as the ``dbt`` subprocess: the same return codes, the same
relations, the same run_results statuses, the same output but for clock times; a call sees exactly
its own environment; with the server gone the call still runs, as a subprocess, and says so.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest
from intent_pipeline import dbt_fork, pipeline

DBT = str(Path(sys.executable).with_name("dbt"))

PROJECT = {
    "dbt_project.yml": "name: forkcheck\nversion: '1.0'\nprofile: forkcheck\nconfig-version: 2\n",
    "profiles.yml": (
        "forkcheck:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('INTENT_FORKCHECK_DB') }}\"\n      threads: 1\n"
    ),
    # env_var() at parse time: what the call's environment says lands in the table
    "models/seen.sql": 'select 1 as id, \'{{ env_var("INTENT_FORKCHECK_VAR", "unset") }}\' as fork_var',
    "models/broken.sql": "select * from no_such_table",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: seen\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n"
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("forkcheck")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _env(**more: str) -> dict[str, str]:
    # the plugins on PYTHONPATH as tests/conftest.py gives them to dbt: the server imports intent_pipeline
    # even when pytest runs without scripts/env.sh (pyproject's pythonpath reaches only this process)
    pythonpath = pipeline.with_plugins_on_path(os.environ.get("PYTHONPATH"))
    return pipeline.dbt_process_env(
        {**os.environ, "PYTHONPATH": pythonpath, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **more}
    )


@pytest.fixture(scope="module")
def server():
    """A fork server of the test's own (not the session's), its environment with a INTENT_FORKCHECK_VAR of its own."""
    home = Path(tempfile.mkdtemp(prefix="forkdbt-"))
    started = dbt_fork.start(home / "s.sock", {**_env(), "INTENT_FORKCHECK_VAR": "the-server-s"}, home / "server.log")
    yield home / "s.sock", started
    dbt_fork.stop(started)
    shutil.rmtree(home, ignore_errors=True)


def _command(project: Path, home: Path, *args: str) -> list[str]:
    return [DBT, *args, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(home / "target"), "--log-path", str(home / "logs")]  # fmt: skip


def _call(project: Path, home: Path, *args: str, via: Path | None, **env: str) -> subprocess.CompletedProcess:
    """One dbt call in its own folder ``home`` (warehouse, target), through the server at ``via`` or as a subprocess."""
    home.mkdir(parents=True, exist_ok=True)
    command, environment = _command(project, home, *args), _env(INTENT_FORKCHECK_DB=str(home / "w.duckdb"), **env)
    if via is None:
        return subprocess.run(command, env=environment, capture_output=True, text=True, cwd=home)
    return dbt_fork._via_server(via, command, environment, home)


def _clockless(text: str, home: Path) -> str:
    """dbt's output without what changes between two runs: clock times, durations, the run's own folder."""
    text = text.replace(str(home), "<home>")
    text = re.sub(r"\d\d:\d\d:\d\d", "<time>", text)
    return re.sub(r"\d+\.\d+s|\d+\.\d+ seconds", "<duration>", text)


def _relations(home: Path) -> list[tuple]:
    if not (home / "w.duckdb").exists():
        return []
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as connection:
        return connection.execute(
            "select table_schema, table_name, table_type from information_schema.tables order by all"
        ).fetchall()


def _statuses(home: Path) -> dict[str, str]:
    path = home / "target" / "run_results.json"
    if not path.exists():
        return {}
    return {result["unique_id"]: result["status"] for result in json.loads(path.read_text())["results"]}


@pytest.mark.parametrize("case, args, code", [
    ("build", ("build", "--select", "seen"), 0),
    ("failing_model", ("build",), 1),
    ("bad_argument", ("build", "--no-such-option"), 2),
])  # fmt: skip
def test_a_call_through_the_server_equals_the_subprocess(project, server, tmp_path, case, args, code):
    socket_path, _ = server
    forked = _call(project, tmp_path / "forked", *args, via=socket_path)
    spawned = _call(project, tmp_path / "spawned", *args, via=None)
    assert (forked.returncode, spawned.returncode) == (code, code), forked.stdout[-2000:] + forked.stderr[-2000:]
    assert _relations(tmp_path / "forked") == _relations(tmp_path / "spawned")
    assert _statuses(tmp_path / "forked") == _statuses(tmp_path / "spawned")
    assert _clockless(forked.stdout, tmp_path / "forked") == _clockless(spawned.stdout, tmp_path / "spawned")
    assert forked.stderr == spawned.stderr  # click's usage error names the program: "dbt", as the script's
    if case == "build":
        assert ("main", "seen", "VIEW") in _relations(tmp_path / "forked")
        assert set(_statuses(tmp_path / "forked").values()) == {"success", "pass"}
    if case == "failing_model":
        assert _statuses(tmp_path / "forked")["model.forkcheck.broken"] == "error"


def test_each_call_sees_exactly_its_own_environment(project, server, tmp_path):
    socket_path, _ = server
    one = _call(project, tmp_path / "one", "run", "--select", "seen", via=socket_path, INTENT_FORKCHECK_VAR="call-one")
    two = _call(project, tmp_path / "two", "run", "--select", "seen", via=socket_path)
    assert (one.returncode, two.returncode) == (0, 0), two.stdout[-2000:]
    seen = []
    for home in (tmp_path / "one", tmp_path / "two"):
        with duckdb.connect(str(home / "w.duckdb"), read_only=True) as connection:
            seen.append(connection.execute("select fork_var from main.seen").fetchone()[0])
    # neither the first call's variable nor the server's own reaches the second call
    assert seen == ["call-one", "unset"]


def test_the_server_reports_its_children_cpu(project, server, tmp_path):
    socket_path, _ = server
    before = dbt_fork.stats(socket_path)
    assert _call(project, tmp_path / "one", "parse", via=socket_path).returncode == 0
    after = dbt_fork.stats(socket_path)
    assert after["calls"] == before["calls"] + 1
    assert after["children_cpu_s"] > before["children_cpu_s"]
    assert after["cpu_s"] >= after["children_cpu_s"]


def test_a_helper_clearing_the_settings_keeps_the_socket_and_a_bench_counts_the_forked_cpu(
    project, server, tmp_path, monkeypatch
):
    """dbt_fork.without_settings: the caller's settings go, the fork server's socket stays (the erasure
    build files clear os.environ with it); dbt_fork.forked_cpu_s: the configured server's children's CPU
    (bench/pipeline adds it to a forked build's cpu_seconds), 0.0 without a server."""
    socket_path, _ = server
    env = {"INTENT_HOME": "/home/x", "AIRFLOW_CONN_CRM": "http://crm", "PATH": "/bin",
           "INTENT_DBT_FORK_SOCKET": str(socket_path)}  # fmt: skip
    kept = dbt_fork.without_settings(env, ("INTENT_", "AIRFLOW_CONN_"))
    assert kept == {"PATH": "/bin", "INTENT_DBT_FORK_SOCKET": str(socket_path)}
    monkeypatch.setenv("INTENT_DBT_FORK_SOCKET", str(socket_path))
    before = dbt_fork.forked_cpu_s()
    assert _call(project, tmp_path / "one", "parse", via=socket_path).returncode == 0
    assert dbt_fork.forked_cpu_s() > before
    monkeypatch.delenv("INTENT_DBT_FORK_SOCKET")
    assert dbt_fork.forked_cpu_s() == 0.0


def test_without_a_server_the_call_runs_as_a_subprocess_and_says_so(project, tmp_path, monkeypatch, caplog, request):
    home = Path(tempfile.mkdtemp(prefix="forkdbt-"))
    started = dbt_fork.start(home / "s.sock", _env(), home / "server.log")
    started.kill()  # dies as a crashed server would: no clean-up of its socket
    started.wait()
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    monkeypatch.setenv("INTENT_DBT_FORK_SOCKET", str(home / "s.sock"))
    (tmp_path / "w").mkdir()
    command = _command(project, tmp_path / "w", "run", "--select", "seen")
    with caplog.at_level(logging.WARNING, logger="intent_pipeline.dbt_fork"):
        done = dbt_fork.run(command, _env(INTENT_FORKCHECK_DB=str(tmp_path / "w" / "w.duckdb")), tmp_path / "w")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 of 1 OK created sql view model main.seen" in done.stdout
    assert f"dbt fork server at {home / 's.sock'} not used" in caplog.text
    assert "running dbt as a subprocess" in caplog.text


def test_a_refused_call_runs_as_a_subprocess(project, server, tmp_path, monkeypatch, caplog):
    socket_path, _ = server
    monkeypatch.setenv("INTENT_DBT_FORK_SOCKET", str(socket_path))
    (tmp_path / "w").mkdir()
    command = _command(project, tmp_path / "w", "run", "--select", "seen")
    # Python reads PYTHONIOENCODING when it starts: a forked child cannot honour another value
    env = _env(INTENT_FORKCHECK_DB=str(tmp_path / "w" / "w.duckdb"), PYTHONIOENCODING="latin-1")
    calls = dbt_fork.stats(socket_path)["calls"]
    with caplog.at_level(logging.WARNING, logger="intent_pipeline.dbt_fork"):
        done = dbt_fork.run(command, env, tmp_path / "w")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "refused: startup variables differ from the server's: PYTHONIOENCODING" in caplog.text
    assert dbt_fork.stats(socket_path)["calls"] == calls


def test_the_same_dbt_by_another_path_is_forked_and_another_dbt_is_refused(project, server, tmp_path, monkeypatch,
                                                                            caplog):  # fmt: skip
    """A task process started by Airflow's ``airflow`` script names dbt by the real folder of the venv (the
    script's shebang), the test process by the link a worktree's ``.venv`` is: the same file, so forked
    (before: refused, and every DAG build of the scheduler tests ran as a subprocess). A copy of dbt
    elsewhere is another program: refused, run as a subprocess."""
    socket_path, _ = server
    monkeypatch.setenv("INTENT_DBT_FORK_SOCKET", str(socket_path))
    (tmp_path / "link").symlink_to(Path(DBT).parent, target_is_directory=True)
    (tmp_path / "copy").mkdir()
    shutil.copy2(DBT, tmp_path / "copy" / "dbt")
    for folder, forked in (("link", True), ("copy", False)):
        home = tmp_path / f"w-{folder}"
        home.mkdir()
        command = [str(tmp_path / folder / "dbt"), *_command(project, home, "run", "--select", "seen")[1:]]
        calls = dbt_fork.stats(socket_path)["calls"]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="intent_pipeline.dbt_fork"):
            done = dbt_fork.run(command, _env(INTENT_FORKCHECK_DB=str(home / "w.duckdb")), home)
        assert done.returncode == 0, done.stdout[-2000:]
        assert "1 of 1 OK created sql view model main.seen" in done.stdout
        assert dbt_fork.stats(socket_path)["calls"] == calls + forked, (folder, caplog.text)
        assert ("refused: argv[0] is" in caplog.text) is not forked, (folder, caplog.text)


def test_pipeline_run_dbt_goes_through_the_configured_server(server, tmp_path, monkeypatch):
    socket_path, _ = server
    monkeypatch.setenv("INTENT_DBT_FORK_SOCKET", str(socket_path))
    settings = pipeline.Settings.from_env({"INTENT_HOME": str(tmp_path)})
    calls = dbt_fork.stats(socket_path)["calls"]
    done = pipeline.run_dbt(settings, "no-such-command", interval=None)  # click refuses it before any parse
    assert done.returncode == 2
    assert "Error: No such command 'no-such-command'." in done.stderr
    assert dbt_fork.stats(socket_path)["calls"] == calls + 1


def test_a_new_server_removes_the_folders_only_dead_servers_left(tmp_path, request):
    """A pytest killed mid-run leaves its server's folder behind (socket, log): the next server started
    beside it removes a folder every server of which is dead (their pid files), and keeps a live
    server's, a folder shared with a live one, and a folder no server marked."""
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)  # fmt: skip
    marks = {"left": [dead], "live": [os.getpid()], "shared": [dead, os.getpid()], "unmarked": []}
    for name, pids in marks.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "server.log").write_text("dbt_fork: serving\n")
        for pid in pids:
            (tmp_path / name / f"dbt_fork.{pid}.pid").write_text(f"{pid}\n")
    home = tmp_path / "new"
    home.mkdir()
    started = dbt_fork.start(home / "s.sock", _env(), home / "server.log")
    request.addfinalizer(lambda: dbt_fork.stop(started))
    assert sorted(folder.name for folder in tmp_path.iterdir()) == ["live", "new", "shared", "unmarked"]
    assert (home / f"dbt_fork.{started.pid}.pid").read_text() == f"{started.pid}\n"
    assert (tmp_path / "live" / "server.log").exists() and (tmp_path / "unmarked" / "server.log").exists()
