"""What the test files share once per test run, whichever xdist worker comes first.

A slow setup (a dbt build, a parse, ``airflow db migrate``, seeds, the dashboard site) is made by
the first process that needs it, under a file lock in the run's shared folder; the others wait for
the lock and find it made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def shared_folder(tmp_path_factory) -> Path:
    """A folder shared by every xdist worker of this test run (the run's own folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(folder: Path, made: Path, make: Callable[[], object]) -> Path:
    """``make()`` once per test run unless ``made`` exists, under ``folder``'s lock: every process
    but the first waits for the lock and finds ``made``. ``make`` must create ``made`` last (a
    failed attempt then leaves none, and the next caller tries again). Returns ``made``."""
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "made.lock")):
        if not made.exists():
            make()
            assert made.exists(), f"{make} did not make {made}"
    return made
