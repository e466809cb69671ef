"""The order in which ``make test`` hands the test files to its pytest-xdist workers: longest first.

``--dist loadfile`` gives each worker one file at a time, in the collection's order, and the run ends
when the last worker finishes its last file. A long file handed out last runs alone while the other
worker idles; handed out first, the short files fill the other worker around it. The files' lengths
come from ``tests/file_durations.json``: the seconds of each file's tests (setup, call and teardown,
from the JUnit report of a whole ``make test``), refreshed after such a run by

    python -m tests.file_order record data/reports/tests/last-run.junit.xml

A file the record does not know yet (new since) goes first if it holds a ``slow`` test, last if not.
``python -m tests.file_order simulate JUNIT`` replays a run's recorded test durations through
pytest-xdist's loadfile schedule for two workers, in xdist's own order (files by test count) and in
this one, and prints each order's makespan (one JSON object on the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).resolve().parent / "file_durations.json"


def recorded_durations(path: Path | None = None) -> dict[str, float]:
    """``{file: seconds}`` from the record (empty without one): ``path``, else the file named by
    ``INTENT_TEST_FILE_DURATIONS`` (a test's own record), else the committed one."""
    path = path or Path(os.environ.get("INTENT_TEST_FILE_DURATIONS") or RECORD)
    return json.loads(path.read_text())["files"] if path.exists() else {}


def longest_first(files: Iterable[str], slow: set[str], durations: dict[str, float]) -> list[str]:
    """``files`` (paths from the root, ``tests/...``), the longest recorded first; unrecorded files
    holding a slow test before every recorded one, other unrecorded ones last. Ties keep their order."""

    def length(file: str) -> float:
        if file in durations:
            return durations[file]
        return float("inf") if file in slow else 0.0

    return sorted(files, key=lambda file: -length(file))


def junit_files(path: Path) -> dict[str, list[float]]:
    """``{file: [each test's seconds, in the order reported]}`` from a pytest JUnit report."""
    tests: dict[str, list[float]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        tests.setdefault(_file_of(case.get("classname", "")), []).append(float(case.get("time") or 0))
    return tests


def _file_of(classname: str) -> str:
    """``tests.dbt.test_x.DayThree`` -> ``tests/dbt/test_x.py`` (the longest prefix that is a file)."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if (ROOT / candidate).exists():
            return candidate
    return "/".join(parts) + ".py"


def loadfile_makespan(order: Sequence[str], tests: dict[str, list[float]], workers: int = 2) -> list[float]:
    """Each worker's end, replaying pytest-xdist 3.8's ``LoadScopeScheduling``: every worker gets the
    next file at the start and again whenever two tests or fewer remain in what it holds."""
    queue = [file for file in order if file in tests]
    held: list[list[float]] = [[] for _ in range(workers)]  # the durations each worker still has to run
    clock = [0.0] * workers

    def top_up(worker: int) -> None:
        if queue and len(held[worker]) <= 2:
            held[worker].extend(tests[queue.pop(0)])

    for _ in range(2):  # a first file for every worker, then a second one for a worker holding two tests or fewer
        for worker in range(workers):
            top_up(worker)
    while any(held):
        worker = min((w for w in range(workers) if held[w]), key=lambda w: clock[w])
        clock[worker] += held[worker].pop(0)
        top_up(worker)
    return clock


def _record(args: argparse.Namespace) -> int:
    tests = junit_files(Path(args.junit))
    files = {file: round(sum(seconds), 1) for file, seconds in sorted(tests.items())}
    Path(args.out).write_text(json.dumps({"from": args.junit_name or Path(args.junit).name, "files": files},
                                         indent=1) + "\n")  # fmt: skip
    print(f"{len(files)} files, {sum(files.values()):.1f} s of tests -> {args.out}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    tests = junit_files(Path(args.junit))
    reported = list(tests)  # first report of each file: close to the run's own order
    by_count = sorted(reported, key=lambda file: -len(tests[file]))  # xdist's --loadscope-reorder
    durations = recorded_durations(Path(args.record))
    result: dict[str, object] = {"junit": args.junit, "record": args.record, "workers": args.workers,
                                 "worker_seconds": round(sum(map(sum, tests.values())), 1)}  # fmt: skip
    for name, order in (("by_test_count", by_count), ("longest_first", longest_first(reported, set(), durations))):
        ends = loadfile_makespan(order, tests, args.workers)
        result[name] = {"makespan_s": round(max(ends), 1), "idle_tail_s": round(max(ends) - min(ends), 1)}
        print(f"{name}: makespan {max(ends):.1f} s, workers end at {', '.join(f'{end:.1f}' for end in ends)}")
    result["lower_bound_s"] = round(max(result["worker_seconds"] / args.workers,  # type: ignore[operator]
                                        max(map(sum, tests.values()))), 1)  # fmt: skip
    print(json.dumps(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    record = verbs.add_parser("record", help="write the record from a whole run's JUnit report")
    record.add_argument("junit")
    record.add_argument("--out", default=str(RECORD))
    record.add_argument("--junit-name", help="what to note as the record's source (default: the file's name)")
    simulate = verbs.add_parser("simulate", help="makespans of xdist's order and this one for a run's durations")
    simulate.add_argument("junit")
    simulate.add_argument("--record", default=str(RECORD))
    simulate.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return _record(args) if args.verb == "record" else _simulate(args)


if __name__ == "__main__":
    sys.exit(main())
