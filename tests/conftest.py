"""Suite-wide collection order: the longest files first.

``make test`` runs the suite on every core with pytest-xdist, one test file per worker at a time
(``--dist loadfile``: a file's module fixtures are built once). The files that took longest in the
last recorded whole run (``tests/file_order.py``; unrecorded files holding a slow test count as
longest) are handed out first, so the short files fill the other workers while they run instead of
a long one starting last and running alone. xdist's own reordering (files by test count, its
``--loadscope-reorder`` default) is switched off so that this order is the one handed out.
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    from tests.file_order import longest_first, recorded_durations

    files = list(dict.fromkeys(item.nodeid.split("::")[0] for item in items))
    slow_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    rank = {file: n for n, file in enumerate(longest_first(files, slow_files, recorded_durations()))}
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])  # stable: each file keeps its order


# INTENT_CPU_PROFILE=path.jsonl: one line per test file with the CPU-seconds it used, this process,
# the subprocesses it waited for (dbt, airflow) and its dbt fork server with the calls it forked; how
# docs/benchmarks.md finds where the suite's CPU goes.
_cpu_start: dict[str, float] = {}
_calls_start: dict[str, int] = {}  # the fork server's count of calls at each file's first test
_profile: dict[str, str] = {}


def pytest_configure(config):
    import os

    # under xdist the controller hears every worker's tests: only the processes that run them count
    controller = bool(config.getoption("numprocesses", None)) and not hasattr(config, "workerinput")
    # the path is read once here: a test that changes os.environ must not switch a worker's profile off
    path = os.environ.get("INTENT_CPU_PROFILE", "")
    if controller and hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False  # hand the files out in the order above, not by test count
    if path and not controller:
        _profile["path"] = os.path.abspath(path)
    if not controller:
        _start_dbt_fork()


# One dbt fork server per process that runs tests (intent_pipeline.dbt_fork): every dbt call of the
# session, the Airflow tasks' included (they inherit INTENT_DBT_FORK_SOCKET), is forked from a process
# that imported dbt once. INTENT_TEST_DBT_FORK=0 runs each call as a subprocess, as production does;
# an INTENT_DBT_FORK_SOCKET given from outside is used as it is.
_fork: dict = {}


def _start_dbt_fork() -> None:
    import os
    import tempfile
    import warnings
    from pathlib import Path

    from intent_pipeline import dbt_fork, pipeline
    from intent_pipeline.settings import switch

    if os.environ.get("INTENT_DBT_FORK_SOCKET") or not switch(
        os.environ.get("INTENT_TEST_DBT_FORK"), "INTENT_TEST_DBT_FORK", default=True
    ):
        return
    home = Path(tempfile.mkdtemp(prefix="intent-dbt-fork-"))  # short: a socket's path has at most 107 bytes
    pythonpath = pipeline.with_plugins_on_path(os.environ.get("PYTHONPATH"))
    env = pipeline.dbt_process_env({**os.environ, "PYTHONPATH": pythonpath})
    try:
        server = dbt_fork.start(home / "dbt.sock", env, home / "server.log")
    except dbt_fork.Unavailable as reason:  # the suite still runs, each dbt call a subprocess
        warnings.warn(f"no dbt fork server for this test process: {reason}", stacklevel=1)
        return
    _fork.update(home=home, server=server)
    os.environ["INTENT_DBT_FORK_SOCKET"] = str(home / "dbt.sock")


def pytest_unconfigure(config):
    import os
    import shutil

    from intent_pipeline import dbt_fork

    if "server" in _fork:
        dbt_fork.stop(_fork.pop("server"))
        os.environ.pop("INTENT_DBT_FORK_SOCKET", None)
        shutil.rmtree(_fork.pop("home"), ignore_errors=True)


def _cpu_now() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _fork_stats()["cpu_s"]


def _fork_stats() -> dict:
    """This process's dbt fork server: the CPU-seconds of it and of the calls it forked (not this
    process's children, so RUSAGE_CHILDREN does not see them) and the count of those calls; zeros without one."""
    from pathlib import Path

    from intent_pipeline import dbt_fork

    if "server" not in _fork:
        return {"cpu_s": 0.0, "calls": 0}
    return dbt_fork.stats(Path(_fork["home"]) / "dbt.sock")


def pytest_runtest_logstart(nodeid, location):
    name = nodeid.split("::")[0]
    if _profile and name not in _cpu_start:
        _cpu_start[name] = _cpu_now()
        _calls_start[name] = _fork_stats()["calls"]


def pytest_sessionfinish(session):
    import json

    path = _profile.get("path")
    if not path or not _cpu_start:
        return
    # each file's span runs from its first test to the next file's first test (or the session's end)
    starts = sorted(_cpu_start.items(), key=lambda item: item[1])
    ends = [start for _, start in starts[1:]] + [_cpu_now()]
    calls_end = [_calls_start[name] for name, _ in starts[1:]] + [_fork_stats()["calls"]]
    with open(path, "a") as out:
        for (name, start), end, calls in zip(starts, ends, calls_end, strict=True):
            record = {"file": name, "cpu_s": round(end - start, 2)}
            if "server" in _fork:  # dbt calls forked by the server in the file's span (Airflow tasks' too)
                record["dbt_fork_calls"] = calls - _calls_start[name]
            out.write(json.dumps(record) + "\n")
