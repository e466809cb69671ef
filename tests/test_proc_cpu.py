"""scripts/proc_cpu.py's kinds of process: how docs/benchmarks.md splits a test file's CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("proc_cpu", ROOT / "scripts" / "proc_cpu.py")
assert _spec is not None and _spec.loader is not None
proc_cpu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proc_cpu)


def test_a_dbt_build_naming_a_node_is_dbt_and_the_dashboard_build_is_node():
    """A DAG build's command line can hold the word ``node`` (a selector, a model's name): it is dbt,
    not the dashboard build (before: 32 CPU-s of test_scheduler's builds were counted as the dashboard's)."""
    build = "/venv/bin/python /venv/bin/dbt build --exclude int_identity_nodes_changed --select +node_model"
    assert proc_cpu.kind_of(build) == "dbt"
    assert proc_cpu.kind_of("(dbt)") == "dbt"  # a dbt process seen after its exit, by its name
    for program in ("node /app/dashboard/node_modules/.bin/observable build", "/usr/bin/npm ci --no-audit",
                    "npx observable build"):  # fmt: skip
        assert proc_cpu.kind_of(program) == "node (dashboard build)", program
    assert proc_cpu.kind_of("/venv/bin/python -m intent_pipeline.dbt_fork serve --socket /tmp/s") \
        == "dbt fork server and its calls"  # fmt: skip
