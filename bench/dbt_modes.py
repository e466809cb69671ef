"""Benchmark: one `dbt build` against one dbt invocation per node (what Cosmos' task-per-model renders).

    python bench/dbt_modes.py [--people N] [--seed S]

Generates a workload, extracts it into a raw lake (the same code the DAG runs), then builds
the warehouse twice on the same lake:
  * `single_build_seconds`: one `dbt build` — the DAG's dbt_build task;
  * `per_node_seconds`: `dbt build --select <node>` for every seed and model in DAG order, one
    process each, run one after another — how Cosmos' LOCAL execution mode runs a project as
    one Airflow task per node. Tests go with `--indirect-selection buildable` (Cosmos'
    `test_indirect_selection`): with dbt's default `eager`, a relationships test would run with
    the first of its two models and fail on a fresh warehouse because the other is not built yet.
    On DuckDB those tasks must run one at a time anyway (one writer
    per file), so their sum is the wall time they would take.
The last line is one JSON object with both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from intent_pipeline import pipeline  # noqa: E402
from intent_pipeline.settings import SOURCES, Settings  # noqa: E402

INTERVAL = "2026-11-21"


def scratch_workload(prefix: str, people: int, seed: int, days: Iterable[date]) -> tuple[Path, Settings]:
    """A new installation in a temporary folder (``INTENT_HOME``; the caller's other ``INTENT_*``
    variables removed from this process) with the sample of ``people`` landed for each of ``days``
    and extracted into its raw lake by the code the DAG's extract tasks run (bench/dbt_cost.py too)."""
    from intent_pipeline.sources import extract_source

    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["INTENT_HOME"] = str(base)
    for name in [k for k in os.environ if k.startswith("INTENT_") and k != "INTENT_HOME"]:
        del os.environ[name]
    settings = Settings.from_env()
    for day in days:
        subprocess.run([sys.executable, "-m", "intent_pipeline.synth", "--people", str(people), "--seed", str(seed),
                        "--date", day.isoformat(), "--landing", settings.landing_url,
                        "--truth", str(base / "data" / "ground_truth")], check=True, capture_output=True)  # fmt: skip
        for source in SOURCES:
            extract_source(source, settings, day, batch_id=f"bench/{source}/{day}", loaded_at=datetime.now(UTC))
    return base, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    day = date.fromisoformat(INTERVAL)
    base, settings = scratch_workload("intent-dbt-modes-", args.people, args.seed, [day])
    start, end = pipeline.interval_dates(day)

    env = pipeline.dbt_env(settings, start, end)

    def dbt(*dbt_args: str) -> float:
        started = time.perf_counter()
        done = subprocess.run(pipeline.dbt_command(settings, *dbt_args), env=env,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"dbt {' '.join(dbt_args)} failed:\n{done.stdout[-3000:]}")
        return time.perf_counter() - started

    single = dbt("build")
    settings.warehouse.unlink()
    listing = subprocess.run(pipeline.dbt_command(settings, "ls", "--resource-type", "seed",
                                                  "--resource-type", "model", "--output", "name"),
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
    nodes = [line.strip() for line in listing.stdout.splitlines() if line.strip() and " " not in line.strip()]
    manifest = json.loads((settings.state_dir / "dbt" / "target" / "manifest.json").read_text())
    order = _topological(manifest, set(nodes))
    per_node = sum(dbt("build", "--select", name, "--indirect-selection", "buildable") for name in order)
    result = {
        "benchmark": "dbt_modes",
        "people": args.people,
        "nodes": len(order),
        "single_build_seconds": round(single, 2),
        "per_node_seconds": round(per_node, 2),
        "ratio_per_node_to_single": round(per_node / single, 1),
    }
    shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


def _topological(manifest: dict, names: set[str]) -> list[str]:
    """Seeds and models in an order where every node comes after its parents."""
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] in ("seed", "model")}
    done: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen or uid not in nodes:
            return
        seen.add(uid)
        for parent in nodes[uid].get("depends_on", {}).get("nodes", []):
            visit(parent)
        if nodes[uid]["name"] in names:
            done.append(nodes[uid]["name"])

    for uid in sorted(nodes):
        visit(uid)
    return done


if __name__ == "__main__":
    main()
