"""Suite-wide collection order: the slow modules first.

``make test`` runs the suite on every core with pytest-xdist, one test file per worker at a time
(``--dist loadfile``: a file's module fixtures are built once). Files that hold a slow test (real
dbt builds, Airflow end to end) are handed out first, so the fast files fill the other workers
while they run instead of the slow ones starting last and running alone.
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: each file keeps its order


# INTENT_CPU_PROFILE=path.jsonl: one line per test file with the CPU-seconds it used, this process and
# the subprocesses it waited for (dbt, airflow); how docs/benchmarks.md finds where the suite's CPU goes.
_cpu_start: dict[str, float] = {}
_profile: dict[str, str] = {}


def pytest_configure(config):
    import os

    # under xdist the controller hears every worker's tests: only the processes that run them count
    controller = bool(config.getoption("numprocesses", None)) and not hasattr(config, "workerinput")
    # the path is read once here: a test that changes os.environ must not switch a worker's profile off
    path = os.environ.get("INTENT_CPU_PROFILE", "")
    if path and not controller:
        _profile["path"] = os.path.abspath(path)


def _cpu_now() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_runtest_logstart(nodeid, location):
    if _profile:
        _cpu_start.setdefault(nodeid.split("::")[0], _cpu_now())


def pytest_sessionfinish(session):
    import json

    path = _profile.get("path")
    if not path or not _cpu_start:
        return
    # each file's span runs from its first test to the next file's first test (or the session's end)
    starts = sorted(_cpu_start.items(), key=lambda item: item[1])
    ends = [start for _, start in starts[1:]] + [_cpu_now()]
    with open(path, "a") as out:
        for (name, start), end in zip(starts, ends, strict=True):
            out.write(json.dumps({"file": name, "cpu_s": round(end - start, 2)}) + "\n")
