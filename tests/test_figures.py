"""scripts/figures.py: the README's marked figures equal what docs/figures.json renders (a hand edit
fails here), the renderer on a hand-made JSON, and the test-suite figures scripts/test.sh records."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("figures", ROOT / "scripts" / "figures.py")
assert _spec and _spec.loader
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)

MACHINE = {"cores": 4, "memory_gib": 15.5, "python": "3.11.9", "os": "Linux 6.1", "cpu": "x", "load_average_1m": 0.5}

SUMMARY = {
    "interval_start": "2026-11-21",
    "sources": {
        "forms": {"forms_submissions": {"read": 10, "loaded": 9, "quarantined": 1}},
        "crm": {"crm_leads": {"read": 4, "loaded": 4, "quarantined": 0}},
    },
    "extract_warnings": {},
    "quality": {"raw": True, "marts": True},
    "warehouse": {
        "people": 12,
        "leads_by_grade": {"high_intent": 2, "nurture": 7},
        "segment_high_intent": 2,
        "newly_hot": 1,
        "funnel_stalls": 3,
        "newly_stalled": 0,
    },
    "activation": {"hubspot": {"mode": "outbox", "planned": 2, "sent_ok": 2}},
    "conversion_model": {
        "latest": {"version": "lcm-1", "status": "approved", "metrics": {"roc_auc": 0.71789, "ece": 0.5}},
        "scoring_with": "lcm-1",
    },
    "paths": {"warehouse": "/…/data/warehouse.duckdb"},
}

HAND_MADE = {
    "make_run": {
        "measured_at": "2026-12-05T00:30:00+00:00",
        "machine": MACHINE,
        "people": 1500,
        "interval_start": "2026-11-21",
        "run_seconds": 61.4,
        "summary": SUMMARY,
    },
    "tests": {
        "command": "make test",
        "measured_at": "2026-12-06T10:00:00+00:00",
        "machine": MACHINE,
        "exit_code": 0,
        "workers": "auto",
        "wall_seconds": 300.4,
        "setup_seconds": 10.2,
        "lint_seconds": 30.0,
        "pytest_seconds": 260.2,
        "cpu_seconds": 500.6,
        "tests": 1200,
        "passed": 1198,
        "failures": 0,
        "errors": 0,
        "skipped": 2,
    },
    "funnel_edge_cases": {"unit_tests": 41},
    "mart_suites": {"suites": 10},
    "dbt_modes": {
        "measured_at": "2026-12-07T08:00:00+00:00",
        "machine": MACHINE,
        "people": 1000,
        "nodes": 80,
        "single_build_seconds": 20.04,
        "per_node_seconds": 300.26,
        "ratio_per_node_to_single": 15.0,
    },
}
ALL_MARKERS = "".join(f"<!-- figures:{name} --><!-- /figures:{name} -->\n" for name in figures.RENDERERS)


def test_readme_figures_are_the_rendering_of_docs_figures_json():
    """Every marked block of README.md is exactly what scripts/figures.py renders from
    docs/figures.json: a figure typed into the README by hand fails here."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    saved = figures.load(ROOT / "docs" / "figures.json")
    assert set(figures.blocks(readme)) == set(figures.RENDERERS), "a marker is missing in README.md"
    assert set(figures.render(saved)) == set(figures.RENDERERS), "a section is missing in docs/figures.json"
    assert figures.stale_blocks(readme, saved) == []


def test_make_run_block_from_a_hand_made_summary():
    block = figures.render(HAND_MADE)["make-run"]
    lines = block.splitlines()
    assert lines[0] == "```"
    assert lines[1].split() == ["table", "read", "loaded", "quarantined"]
    assert lines[2].split() == ["forms_submissions", "10", "9", "1"]
    assert lines[3].split() == ["crm_leads", "4", "4", "0"]
    assert "people resolved: 12   leads per grade: high_intent 2, nurture 7" in lines
    assert "high-intent segment: 2 (newly hot this interval: 1)" in lines
    assert (
        "activation hubspot [outbox]: planned 2, sent_ok 2, unchanged 0, rejected 0, deferred 0, invalid 0, requests 0"
        in lines
    )
    # a metric with more than three decimals is cut (not rounded) with an ellipsis; one with fewer as it is
    assert any("(auc 0.717…, ece 0.500)" in line for line in lines)
    assert "warehouse       /…/data/warehouse.duckdb" in lines
    assert block.endswith(
        "Measured by `make figures` (1,500 people, interval 2026-11-21; `make run`'s steps in a temporary "
        "`INTENT_HOME`) on 5 December 2026 (4 cores, 15.5 GiB, Python 3.11.9, load average 0.5): "
        "the pipeline step (Airflow started, one run, stopped) took 61 s.\n"
    )


def test_tests_block_from_a_hand_made_json():
    assert figures.render(HAND_MADE)["tests"] == (
        "Measured by `make test` on 6 December 2026 (4 cores, 15.5 GiB, Python 3.11.9, load average 0.5): "
        "**300 s wall** — venv 10 s, ruff and mypy 30 s, **1,200 tests in 260 s** (1,198 passed, 2 skipped; "
        "pytest-xdist `-n auto`); 501 CPU-seconds in all.\n"
    )


def test_inline_blocks_from_a_hand_made_json():
    rendered = figures.render(HAND_MADE)
    assert rendered["dbt-modes"] == (
        "20.0 s against 300.3 s per node, 15× (1,000 people, 80 seeds and models; "
        "7 December 2026, 4 cores, 15.5 GiB, Python 3.11.9, load average 0.5)"
    )
    assert rendered["mart-suites"] == "10"
    assert rendered["funnel-edge-cases"] == "41"
    busy = dict(HAND_MADE["dbt_modes"], machine=MACHINE | {"load_average_1m_at_start": 9.5})
    assert figures.render_dbt_modes(busy).endswith("load average 9.5 at the start, 0.5 at the end)")
    undated = dict(HAND_MADE["dbt_modes"], measured_at=None)
    assert figures.render_dbt_modes(undated).endswith("; date and machine not recorded)")


def test_apply_rewrites_block_and_inline_markers_and_a_hand_edit_is_stale():
    doc = (
        "intro\n<!-- figures:tests -->\nTYPED BY HAND\n<!-- /figures:tests -->\n"
        "pinned by <!-- figures:funnel-edge-cases -->39<!-- /figures:funnel-edge-cases --> cases\n"
        "<!-- figures:make-run -->\nold\n<!-- /figures:make-run -->\nend\n"
        "<!-- figures:mart-suites -->10<!-- /figures:mart-suites --> "
        "<!-- figures:dbt-modes --><!-- /figures:dbt-modes -->"
    )
    # mart-suites already holds the right figure
    assert figures.stale_blocks(doc, HAND_MADE) == ["dbt-modes", "funnel-edge-cases", "make-run", "tests"]
    new = figures.apply(doc, figures.render(HAND_MADE))
    assert figures.stale_blocks(new, HAND_MADE) == []
    assert "TYPED BY HAND" not in new and "\nold\n" not in new
    assert "pinned by <!-- figures:funnel-edge-cases -->41<!-- /figures:funnel-edge-cases --> cases\n" in new
    assert new.startswith("intro\n<!-- figures:tests -->\nMeasured by `make test`")
    assert "<!-- /figures:make-run -->\nend\n<!-- figures:mart-suites -->10<!-- /figures:mart-suites -->" in new
    assert figures.apply(new, figures.render(HAND_MADE)) == new  # idempotent
    edited = new.replace("1,200 tests", "1,300 tests")
    assert figures.stale_blocks(edited, HAND_MADE) == ["tests"]


def test_apply_refuses_a_marker_without_figures_and_figures_without_a_marker():
    rendered = figures.render(HAND_MADE)
    with pytest.raises(
        ValueError, match="without markers: \\['dbt-modes', 'funnel-edge-cases', 'make-run', 'mart-suites'\\]"
    ):
        figures.apply("<!-- figures:tests -->\nx\n<!-- /figures:tests -->\n", rendered)
    with pytest.raises(ValueError, match="markers without figures: \\['typed'\\]"):
        figures.apply("<!-- figures:typed -->1<!-- /figures:typed -->", {})


def test_mart_suite_count_is_the_expectation_files():
    assert figures.count_mart_suites()["suites"] == len(list((ROOT / "expectations" / "marts").glob("*.json"))) > 0


def test_funnel_edge_case_count_is_the_yaml_table():
    counted = figures.count_funnel_edge_cases()["unit_tests"]
    text = figures.FUNNEL_EDGE_CASES.read_text(encoding="utf-8")
    assert counted == text.count("\n  - name: ") > 0


def test_record_tests_from_a_real_pytest_run_and_bash_times(tmp_path):
    """What scripts/test.sh does at its end, on a real (tiny) pytest run and bash's real `times`:
    the counts come from pytest's JUnit report, the CPU-seconds from the shell's children."""
    suite = tmp_path / "test_tiny.py"
    suite.write_text(
        "import pytest\n"
        "def test_a(): assert True\n"
        "def test_b(): assert True\n"
        "def test_c(): assert False\n"
        "@pytest.mark.skip(reason='x')\n"
        "def test_d(): pass\n",
        encoding="utf-8",
    )
    junit = tmp_path / "junit.xml"
    times = tmp_path / "times"
    shell = (
        f"{sys.executable} -m pytest -p no:cacheprovider -p no:xdist -q {suite} --junitxml={junit} "
        f"--rootdir={tmp_path} -c /dev/null > /dev/null; status=$?; "
        f"times > {times}; exit $status"
    )
    done = subprocess.run(["bash", "-c", shell], cwd=tmp_path)
    assert done.returncode == 1  # test_c failed
    out = tmp_path / "last-run.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "figures.py"), "record-tests", "--started", "100.0",
         "--setup-done", "110.5", "--lint-done", "140.5", "--tests-done", "400.0", "--junit", str(junit),
         "--times", str(times), "--workers", "0", "--exit-code", "1", "--pytest-args=-m not slow", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    record = json.loads(out.read_text())
    assert (record["tests"], record["passed"], record["failures"], record["skipped"]) == (4, 2, 1, 1)
    assert (record["wall_seconds"], record["setup_seconds"], record["lint_seconds"], record["pytest_seconds"]) == (
        300.0, 10.5, 30.0, 259.5,
    )  # fmt: skip
    assert record["exit_code"] == 1 and record["pytest_args"] == "-m not slow"
    # the pytest process (Python start-up and imports) used CPU, and bash counted it
    assert record["cpu_seconds"] == round(figures._shell_times(times.read_text()), 1) > 0
    assert record["machine"]["cores"] >= 1 and record["machine"]["python"]


def test_only_a_passed_run_of_the_whole_suite_replaces_the_suite_figures(tmp_path, monkeypatch):
    saved = tmp_path / "figures.json"
    figures.save({"tests": HAND_MADE["tests"]}, saved)
    failed = dict(HAND_MADE["tests"], exit_code=1, tests=3)
    test_run = tmp_path / "last-run.json"
    test_run.write_text(json.dumps(failed))
    readme = tmp_path / "README.md"
    readme.write_text(ALL_MARKERS)
    monkeypatch.setattr(figures, "FIGURES", saved)
    monkeypatch.setattr(figures, "README", readme)
    with pytest.raises(
        ValueError, match="markers without figures: \\['dbt-modes', 'make-run'\\]"
    ):  # nothing to render it from
        figures.main(["--skip-run", "--test-run", str(test_run)])
    figures.save({k: HAND_MADE[k] for k in ("tests", "make_run", "dbt_modes")}, saved)
    assert figures.main(["--skip-run", "--test-run", str(test_run)]) == 0
    assert json.loads(saved.read_text())["tests"]["tests"] == 1200
    assert "**1,200 tests in 260 s**" in readme.read_text()
    test_run.write_text(json.dumps(dict(failed, exit_code=0, pytest_args="-m not slow")))  # a part of the suite
    assert figures.main(["--skip-run", "--test-run", str(test_run)]) == 0
    assert "**1,200 tests in 260 s**" in readme.read_text()
    test_run.write_text(json.dumps(dict(failed, exit_code=0, pytest_args="")))
    assert figures.main(["--skip-run", "--test-run", str(test_run)]) == 0
    assert "**3 tests in 260 s**" in readme.read_text()


def test_shell_times_parses_bash_times():
    assert figures._shell_times("0m0.010s 0m0.002s\n1m2.500s 0m0.500s\n") == pytest.approx(63.0)
    with pytest.raises(ValueError):
        figures._shell_times("0m0.010s 0m0.002s\n")
