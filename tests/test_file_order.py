"""The order the test files are handed to the xdist workers (tests/file_order.py, tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.file_order import RECORD, junit_files, loadfile_makespan, longest_first, recorded_durations

pytest_plugins = ["pytester"]


def test_the_longest_recorded_file_goes_first_and_unrecorded_ones_by_their_slow_mark():
    durations = {"tests/a.py": 5.0, "tests/b.py": 90.0, "tests/c.py": 5.0}
    files = ["tests/new_fast.py", "tests/a.py", "tests/new_slow.py", "tests/b.py", "tests/c.py"]
    assert longest_first(files, {"tests/new_slow.py"}, durations) == [
        "tests/new_slow.py", "tests/b.py", "tests/a.py", "tests/c.py", "tests/new_fast.py"]  # fmt: skip


def test_the_replayed_schedule_gives_a_new_file_to_a_worker_holding_two_tests_or_fewer():
    # worker 0: long (3 tests); worker 1: short, holding one test, takes medium at once; worker 0,
    # holding 2 tests after 10 s, takes tail (a 40 s test) behind them and runs to 70 s alone
    tests = {"long": [10.0, 10.0, 10.0], "short": [1.0], "medium": [5.0], "tail": [40.0]}
    assert loadfile_makespan(["long", "short", "medium", "tail"], tests) == [70.0, 6.0]
    # the longest first: tail and medium, then short, on worker 0 (46 s), long on worker 1 (30 s)
    order = longest_first(list(tests), set(), {file: sum(seconds) for file, seconds in tests.items()})
    assert order == ["tail", "long", "medium", "short"]
    assert loadfile_makespan(order, tests) == [46.0, 30.0]


def test_the_record_is_read_from_a_junit_report(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite><testcase classname="tests.test_file_order" name="a" time="1.5"/>'
        '<testcase classname="tests.dbt.test_warehouse.Nested" name="b" time="2"/>'
        '<testcase classname="tests.test_file_order" name="c" time="0.25"/></testsuite></testsuites>'
    )
    assert junit_files(report) == {"tests/test_file_order.py": [1.5, 0.25], "tests/dbt/test_warehouse.py": [2.0]}


def test_a_collection_puts_the_files_longest_first(tmp_path):
    """The suite's hook on a real collection: files given shortest first come out longest first,
    a file the record does not know and that holds no slow test last. The record is the test's own
    (INTENT_TEST_FILE_DURATIONS), so a refreshed committed record cannot change what it checks."""
    import json
    import os
    import subprocess
    import sys

    given = ["tests/test_file_order.py", "tests/test_figures.py", "tests/test_pipeline.py", "tests/test_dbt_errors.py"]
    record = tmp_path / "file_durations.json"
    record.write_text(json.dumps({"files": {"tests/test_figures.py": 1.0, "tests/test_pipeline.py": 2.0,
                                            "tests/test_dbt_errors.py": 3.0}}))  # fmt: skip
    durations = recorded_durations(record)
    expected = sorted(given[1:], key=lambda file: -durations[file]) + ["tests/test_file_order.py"]
    assert expected != given[1:] + given[:1]  # the order given is not already the one expected
    # no dbt fork server for a collection
    env = {**os.environ, "INTENT_TEST_DBT_FORK": "0", "INTENT_TEST_FILE_DURATIONS": str(record)}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *given],
        cwd=RECORD.parent.parent, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    files = list(dict.fromkeys(line.split("::")[0] for line in collected.splitlines() if "::" in line))
    assert files == expected


def test_the_xdist_controller_hands_the_files_out_in_that_order(pytester):
    """xdist reorders the files by test count unless told not to: the suite's conftest tells it."""
    from tests import conftest

    pytest.importorskip("xdist")
    plain = pytester.parseconfigure("-n", "2", "-p", "no:cacheprovider")
    assert plain.option.loadscopereorder is True  # xdist's default, which would undo the order

    # the conftest's configure hook alone: its unconfigure would stop this process's dbt fork server
    class SuiteConfigure:
        pytest_configure = staticmethod(conftest.pytest_configure)

    pytester.plugins.append(SuiteConfigure())
    ours = pytester.parseconfigure("-n", "2", "-p", "no:cacheprovider")
    assert ours.option.loadscopereorder is False
