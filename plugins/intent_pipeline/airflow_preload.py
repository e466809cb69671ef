"""What Airflow's scheduler imports before its LocalExecutor forks the task processes.

The LocalExecutor forks its workers from the scheduler and each task process from a worker, so a
module the scheduler has imported is already in every task process. The DAG's tasks import Great
Expectations (about 4 CPU-seconds, in every ``validate_raw`` / ``validate_marts`` task), pandas,
pyarrow and DuckDB; imported once by the scheduler, no task pays for them again.

Airflow imports ``airflow_local_settings`` (from ``$AIRFLOW_HOME/config``) in every process of a
home; the one scripts/airflow_run.py writes there calls :func:`preload`, which does the work in the
scheduler only: the api-servers, the dag-processor and the CLI do not run tasks. Airflow 3.3's own
knob, ``[scheduler] mp_start_method = forkserver`` with ``[core] mp_forkserver_preload``, does the
same, but its processes are not children of the scheduler, so the CPU they use is not counted where
the tests count it (docs/operations.md, "Three more cuts").
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

TASK_IMPORTS = ("duckdb", "great_expectations", "pandas", "pyarrow")


def preload(argv: Sequence[str] | None = None) -> list[str]:
    """Import :data:`TASK_IMPORTS` when this process is ``airflow scheduler``; the names imported."""
    argv = sys.argv if argv is None else argv
    if list(argv[1:2]) != ["scheduler"]:
        return []
    for name in TASK_IMPORTS:
        importlib.import_module(name)
    return list(TASK_IMPORTS)
