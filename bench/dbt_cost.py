"""Benchmark: the CPU-seconds of one dbt call as the DAG makes it (``pipeline.run_dbt``).

    python bench/dbt_cost.py [--people N] [--seed S]

Generates a workload, extracts two days into a raw lake (the code the DAG runs) and parses the
project once; then, once per mode, in a warehouse folder of its own starting from that parse: the
first day's ``dbt build`` into an empty warehouse (a fresh installation, the tests' session build)
and the next day's build on top of it (the daily build). Modes: ``full``, as before this change:
dbt gets the caller's whole environment and every build loads every seed and runs its tests;
``trimmed``, the DAG's build now (``pipeline.duckdb_build``): dbt's environment trimmed
(``pipeline.dbt_process_env``) and the seeds unchanged since the last build left out with their
tests (``seed_state``). The first builds differ only by the environment. CPU-seconds are user +
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
    result: dict = {"benchmark": "dbt_cost", "people": args.people, "env_vars_given": len(os.environ)}
    parsed: Path | None = None
    try:
        for mode in ("full", "trimmed"):
            pipeline.dbt_process_env = trimmed if mode == "trimmed" else dict  # type: ignore[assignment]
            home = base / mode
            own = settings.model_copy(update={"warehouse": home / "warehouse.duckdb", "state_dir": home / "state"})
            target = home / "state" / "dbt" / "target"
            figures: dict = {"env_vars_passed": len(pipeline.dbt_process_env(pipeline.dbt_env(own, None, None)))}
            if parsed is None:  # one full parse, then every build starts from it (the DAG keeps its parse)
                before = _children_cpu()
                done = pipeline.run_dbt(own, "parse", interval=None)
                if done.returncode != 0:
                    sys.exit(f"dbt parse failed:\n{done.stdout[-3000:]}")
                result["parse_cpu_s"] = round(_children_cpu() - before, 2)
                parsed = target / pipeline.PARTIAL_PARSE_FILE
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(parsed, target / pipeline.PARTIAL_PARSE_FILE)
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
                figures[f"{step}_nodes_run"] = len(results)
            result[mode] = figures
    finally:
        pipeline.dbt_process_env = trimmed  # type: ignore[assignment]
        shutil.rmtree(base, ignore_errors=True)
    for step in ("first_build", "daily_build"):
        key = f"{step}_cpu_s"
        result[f"{step}_ratio_after_to_before"] = round(result["trimmed"][key] / result["full"][key], 3)
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
