"""Benchmark: the CPU-seconds of one dbt call as the DAG makes it (``pipeline.run_dbt``).

    python bench/dbt_cost.py [--people N] [--seed S]

Generates a workload, extracts two days into a raw lake (the code the DAG runs) and parses the
project once; then, once per mode, in a warehouse folder of its own starting from that parse: the
first day's ``dbt build`` into an empty warehouse (a fresh installation, the tests' session build)
and the next day's build on top of it (the daily build). Modes: ``full``, as before this change:
dbt gets the caller's whole environment and every build loads every seed and runs its tests;
``trimmed``, the DAG's build now (``pipeline.duckdb_build``): dbt's environment trimmed
(``pipeline.dbt_process_env``) and the seeds unchanged since the last build left out with their
tests (``seed_state``); ``unfolded``, the trimmed build of a copy of the project whose column
rules are one data test node each again, as before issue 20 (:func:`unfold_project`; it parses
once more, its own project), the baseline of ``column_rules``: each model's not-null, unique,
accepted-values, range and unique-combination rules checked in one node per severity. The first
builds of full and trimmed differ only by the environment. CPU-seconds are user +
system of dbt's process (``resource.getrusage(RUSAGE_CHILDREN)``), which the machine's load changes
little; wall seconds are not reported. The last line is one JSON object with every figure and the
ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_modes import scratch_workload  # noqa: E402  (a sibling benchmark: the same workload setup)
from intent_pipeline import pipeline  # noqa: E402

FIRST_DAY = date(2026, 11, 20)
# the generic tests the project had before column_rules folded them (for the unfolded copy only)
LEGACY_TESTS = """
{% test unique_combination_of_columns(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as copies from {{ model }}
    group by {{ columns | join(', ') }} having count(*) > 1
{% endtest %}
{% test within_range(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }} from {{ model }} where
    {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
    {%- if min_value is not none and max_value is not none %} or{% endif %}
    {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}
"""


def unfold_project(source: Path, copy: Path) -> int:
    """Copy the dbt project ``source`` to ``copy`` with every ``column_rules`` test written back as
    one test per column and rule (dbt's not_null, unique, accepted_values; within_range and
    unique_combination_of_columns from :data:`LEGACY_TESTS`), with the same severity. Returns the
    number of rules unfolded."""
    import yaml

    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (copy / "macros" / "legacy_generic_tests.sql").write_text(LEGACY_TESTS)
    count = 0
    for path in sorted([*copy.glob("models/**/*.yml"), *copy.glob("seeds/**/*.yml")]):
        data = yaml.safe_load(path.read_text())
        changed = False
        for node in [*(data.get("models") or []), *(data.get("seeds") or [])]:
            kept = []
            for test in node.get("data_tests") or []:
                if not (isinstance(test, dict) and "column_rules" in test):
                    kept.append(test)
                    continue
                body = test["column_rules"]
                rules, config = body["arguments"], body.get("config")
                columns = {column["name"]: column for column in node.setdefault("columns", [])}
                unfolded: list[tuple[str, str, dict | None]] = [
                    *((column, "not_null", None) for column in rules.get("not_null", [])),
                    *((column, "unique", None) for column in rules.get("unique", [])),
                    *((column, "accepted_values", spec if isinstance(spec, dict) else {"values": spec})
                      for column, spec in (rules.get("accepted_values") or {}).items()),
                    *((column, "within_range", bounds) for column, bounds in (rules.get("within_range") or {}).items()),
                ]  # fmt: skip
                for column, name, arguments in unfolded:
                    if column not in columns:
                        columns[column] = {"name": column}
                        node["columns"].append(columns[column])
                    spec = {k: v for k, v in (("arguments", arguments), ("config", config)) if v}
                    columns[column].setdefault("data_tests", []).append({name: spec} if spec else name)
                for group in rules.get("unique_combinations", []):
                    spec = {"arguments": {"columns": group}, **({"config": config} if config else {})}
                    kept.append({"unique_combination_of_columns": spec})
                count += sum(len(v) for v in rules.values())
                changed = True
            if node.get("data_tests") is not None:
                node["data_tests"] = kept
        if changed:
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return count


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    days = (FIRST_DAY, FIRST_DAY + timedelta(days=1))
    base, settings = scratch_workload("intent-dbt-cost-", args.people, args.seed, days)

    trimmed = pipeline.dbt_process_env
    project = pipeline.DBT_PROJECT_DIR
    unfolded = base / "unfolded_project"
    result: dict = {"benchmark": "dbt_cost", "people": args.people, "env_vars_given": len(os.environ),
                    "rules_unfolded": unfold_project(project, unfolded)}  # fmt: skip
    parses: dict[Path, Path] = {}
    try:
        for mode in ("full", "unfolded", "trimmed"):
            pipeline.dbt_process_env = trimmed if mode != "full" else dict  # type: ignore[assignment]
            pipeline.DBT_PROJECT_DIR = unfolded if mode == "unfolded" else project  # type: ignore[misc]
            home = base / mode
            own = settings.model_copy(update={"warehouse": home / "warehouse.duckdb", "state_dir": home / "state"})
            target = home / "state" / "dbt" / "target"
            figures: dict = {"env_vars_passed": len(pipeline.dbt_process_env(pipeline.dbt_env(own, None, None)))}
            if pipeline.DBT_PROJECT_DIR not in parses:  # one full parse per project, every build starts from it
                before = _children_cpu()
                done = pipeline.run_dbt(own, "parse", interval=None)
                if done.returncode != 0:
                    sys.exit(f"dbt parse failed:\n{done.stdout[-3000:]}")
                result["parse_cpu_s" if mode != "unfolded" else "unfolded_parse_cpu_s"] = round(
                    _children_cpu() - before, 2)  # fmt: skip
                parses[pipeline.DBT_PROJECT_DIR] = target / pipeline.PARTIAL_PARSE_FILE
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(parses[pipeline.DBT_PROJECT_DIR], target / pipeline.PARTIAL_PARSE_FILE)
            for step, day in (("first_build", days[0]), ("daily_build", days[1])):
                before = _children_cpu()
                interval = pipeline.interval_dates(day)
                if mode == "full":  # as before: every seed and its tests each day
                    done = pipeline.run_dbt(own, *pipeline.dbt_build_args(), interval=interval)
                else:  # the DAG's build now: unchanged seeds and their tests left out
                    done = pipeline.duckdb_build(own, interval)
                if done.returncode != 0:
                    sys.exit(f"{mode}: {step} failed:\n{done.stdout[-3000:]}")
                figures[f"{step}_cpu_s"] = round(_children_cpu() - before, 2)
                results = json.loads((target / "run_results.json").read_text())["results"]
                figures[f"{step}_seeds_run"] = sum(r["unique_id"].startswith("seed.") for r in results)
                figures[f"{step}_tests_run"] = sum(r["unique_id"].startswith("test.") for r in results)
                figures[f"{step}_nodes_run"] = len(results)
            result[mode] = figures
    finally:
        pipeline.dbt_process_env = trimmed  # type: ignore[assignment]
        pipeline.DBT_PROJECT_DIR = project  # type: ignore[misc]
        shutil.rmtree(base, ignore_errors=True)
    for step in ("first_build", "daily_build"):
        key = f"{step}_cpu_s"
        result[f"{step}_ratio_after_to_before"] = round(result["trimmed"][key] / result["full"][key], 3)
        result[f"{step}_ratio_folded_to_unfolded"] = round(result["trimmed"][key] / result["unfolded"][key], 3)
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
