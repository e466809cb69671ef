"""The funnel's edge-case table: how many cases there are and how many pass.

The table is the dbt unit tests tagged ``funnel_edge_case`` (one person per case, one unit test
per case) on ``int_funnel_steps_reached``, written in
``dbt_project/models/intermediate/funnel/_funnel__edge_cases.yml``: that yml is the source of truth,
nothing here restates a case. Semantics: docs/funnel.md.

    from intent_pipeline.funnel_cases import funnel_edge_cases

    cases, passed = funnel_edge_cases()                  # runs them on a scratch warehouse, ~25 s
    cases, passed = funnel_edge_cases(run_results_path)  # counts a dbt build/test that ran them

With a ``run_results.json`` (e.g. ``<state>/dbt/target/run_results.json`` after a ``dbt build``
that ran the unit tests: the DAG's only with ``INTENT_DBT_UNIT_TESTS=1``), nothing runs: a case
counts as passed when its unit test's status there is ``pass``; a case the file does not mention
did not pass. Without one, dbt runs the cases on a scratch warehouse: an empty raw lake with the
contract's schemas, ``dbt build --empty`` of the model's parent seeds and models (unit tests read
their column types from the relations) and ``dbt test --select tag:funnel_edge_case``: about 25 s
on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from intent_pipeline.settings import DBT_PROJECT_DIR

TAG = "funnel_edge_case"
MODEL = "int_funnel_steps_reached"


def edge_case_names(project_dir: Path | str = DBT_PROJECT_DIR) -> list[str]:
    """The names of the unit tests tagged ``funnel_edge_case`` in the project's model ymls, sorted."""
    import yaml

    names = []
    for path in sorted(Path(project_dir, "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for unit_test in document.get("unit_tests") or []:
            tags = (unit_test.get("config") or {}).get("tags") or []
            if TAG in ([tags] if isinstance(tags, str) else tags):
                names.append(unit_test["name"])
    return sorted(names)


def passed_cases(run_results_path: Path | str, names: list[str]) -> list[str]:
    """The cases among ``names`` whose unit test passed in a dbt ``run_results.json``."""
    results = json.loads(Path(run_results_path).read_text(encoding="utf-8"))["results"]
    status = {
        result["unique_id"].rsplit(".", 1)[-1]: result["status"]
        for result in results
        if result["unique_id"].startswith("unit_test.")
    }
    return [name for name in names if status.get(name) == "pass"]


def _write_empty_lake(lake_dir: Path) -> None:
    """Every raw table as one empty partition with the contract's schema (sources must be readable)."""
    from intent_pipeline import lake

    for table in lake.TABLE_COLUMNS:
        lake.write_partition(lake_dir, "raw", table, date(2026, 1, 1), [])


def _dbt(base: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    from intent_pipeline.pipeline import dbt_process_env, with_plugins_on_path

    dbt_bin = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        "INTENT_LAKE_DIR": str(base / "lake"),
        # relative to ``base`` (the working directory): the same profile wherever the scratch folder
        # is, so a parse of the project left in ``base/target`` is reused (dbt's partial parsing)
        "INTENT_WAREHOUSE": "warehouse.duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": with_plugins_on_path(os.environ.get("PYTHONPATH")),
        **(extra_env or {}),
    }
    env.pop("DBT_TARGET", None)
    env = dbt_process_env(env)
    command = [
        str(dbt_bin) if dbt_bin.exists() else "dbt", *args,
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(base / "target"), "--log-path", str(base / "logs"),
    ]  # fmt: skip
    from intent_pipeline import dbt_fork

    return dbt_fork.run(command, env, base)  # a fork server's when one is configured (INTENT_DBT_FORK_SOCKET)


def run_edge_cases(workdir: Path | str) -> Path:
    """Run the cases on a scratch warehouse under ``workdir``; the path of the test's run_results.json.

    Raises RuntimeError when the scratch warehouse cannot be built (a case that fails is no error:
    it is counted as not passed).
    """
    base = Path(workdir).resolve()
    _write_empty_lake(base / "lake")
    parents = ("build", "--empty", "--select", f"+{MODEL}", "--resource-type", "seed", "--resource-type", "model")
    done = _dbt(base, *parents)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(parents)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    _dbt(base, "test", "--select", f"tag:{TAG}")
    results = base / "target" / "run_results.json"
    if not results.exists():
        raise RuntimeError(f"dbt test --select tag:{TAG} wrote no {results}")
    return results


def rerun_edge_cases(workdir: Path | str, env: dict[str, str]) -> Path:
    """Run the cases again on the scratch warehouse :func:`run_edge_cases` built in ``workdir`` (or a
    copy of that folder), with ``env`` on top of the environment (e.g. ``{"INTENT_FUNNEL_WALK_IN_ROUNDS":
    "true"}``: a variable the project reads only when a node runs, so dbt keeps the first run's parse,
    where a ``--vars`` would re-parse the whole project); the path of that run's run_results.json (it
    replaces the first run's)."""
    base = Path(workdir).resolve()
    _dbt(base, "test", "--select", f"tag:{TAG}", extra_env=env)
    results = base / "target" / "run_results.json"
    if not results.exists():
        raise RuntimeError(f"dbt test --select tag:{TAG} with {sorted(env)} wrote no {results}")
    return results


def funnel_edge_cases(
    run_results_path: Path | str | None = None, *, workdir: Path | str | None = None
) -> tuple[int, int]:
    """``(cases, passed)``: the number of funnel edge cases and how many of them passed.

    ``run_results_path``: a dbt run_results.json to count from (nothing runs); None runs the cases
    in ``workdir`` (default: a temporary directory, removed afterwards).
    """
    names = edge_case_names()
    if run_results_path is not None:
        return len(names), len(passed_cases(run_results_path, names))
    if workdir is not None:
        return len(names), len(passed_cases(run_edge_cases(workdir), names))
    with tempfile.TemporaryDirectory(prefix="funnel-cases-") as scratch:
        return len(names), len(passed_cases(run_edge_cases(scratch), names))


def main(argv: list[str] | None = None) -> int:
    """``python -m intent_pipeline.funnel_cases [RUN_RESULTS]``: prints ``{"funnel_edge_cases": n, ...}``."""
    args = sys.argv[1:] if argv is None else argv
    cases, passed = funnel_edge_cases(args[0] if args else None)
    print(json.dumps({"funnel_edge_cases": cases, "funnel_edge_cases_passed": passed}))
    return 0 if cases and passed == cases else 1


if __name__ == "__main__":
    raise SystemExit(main())
