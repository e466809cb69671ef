"""Benchmark and goal check: ``make dashboard`` on a fresh clone, and a rebuild after a run (issue #18).

    python bench/dashboard.py [--home DIR] [--people N] [--days D] [--warm-npm-cache] [--keep DIR]

Goals: ``make dashboard`` on a fresh clone, after ``make run``, in at most 180 s including its
install (``npm ci``), and a rebuild after a run in at most 60 s.

1. The serving copy a run publishes: ``--home DIR`` (an ``INTENT_HOME`` whose ``data/serving`` was
   published, e.g. the repository itself after ``make run``), or, by default, the dashboard test's
   sample (``tests/dashboard/sample.py``: N people, default 600, D daily drops, default 2, through
   the DAG's task functions), generated first and not counted in the goals.
2. A fresh clone of this repository's committed HEAD (``git clone``: no ``node_modules``, no
   ``dashboard/dist``, no Framework cache), with the project's virtualenv linked in as ``.venv``
   (what ``make setup`` would have made; ``make run`` needs it).
3. ``dashboard/build.sh`` there (what ``make dashboard`` runs), timed: ``npm ci`` from the registry
   with an empty npm cache of its own (a machine that never installed these packages;
   ``--warm-npm-cache`` uses the user's cache instead), the loaders, Framework's build.
4. ``dashboard/build.sh`` again: the rebuild after a run (the data loaders rerun, no install).

Last line: one JSON object with the wall and CPU seconds (the build's processes: npm, node, the
Python loaders) of both builds, whether each meets its goal, the commit, the machine's cores and
load average (the machine is shared: a figure measured under load says so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLD_GOAL_SECONDS = 180.0
REBUILD_GOAL_SECONDS = 60.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_build(clone: Path, env: dict[str, str]) -> dict:
    """``dashboard/build.sh`` in the clone: wall and CPU seconds, and whether it had to install the
    packages (build.sh runs ``npm ci`` when ``node_modules`` is missing); stops with its output if it fails."""
    installed = (clone / "dashboard" / "node_modules" / ".package-lock.json").exists()
    cpu, started = children_cpu(), time.monotonic()
    done = subprocess.run([str(clone / "dashboard" / "build.sh")], env=env, cwd=clone, capture_output=True, text=True)
    wall, cpu = time.monotonic() - started, children_cpu() - cpu
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        raise SystemExit(f"dashboard/build.sh failed ({done.returncode}):\n{output}")
    if not (clone / "dashboard" / "dist" / "index.html").exists():
        raise SystemExit("dashboard/build.sh wrote no dashboard/dist/index.html")
    return {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "npm_ci": not installed}


def fresh_clone(target: Path) -> str:
    """Clone the committed HEAD into ``target``; link the project's virtualenv; return the commit."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], check=True)
    venv = (ROOT / ".venv").resolve()
    if not venv.is_dir():
        raise SystemExit(f"no virtualenv at {ROOT / '.venv'}: run make setup first")
    (target / ".venv").symlink_to(venv)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=target, capture_output=True, text=True, check=True)
    return commit.stdout.strip()


def sample_home(work: Path, people: int, days: int) -> tuple[Path, float]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "plugins"))
    from tests.dashboard.sample import build_sample

    started = time.monotonic()
    build_sample(work / "sample", people=people, days=days)
    return work / "sample", time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an INTENT_HOME with a published serving copy (default: a sample)")
    parser.add_argument("--people", type=int, default=600, help="the sample's people (without --home)")
    parser.add_argument("--days", type=int, default=2, help="the sample's daily drops (without --home)")
    parser.add_argument("--warm-npm-cache", action="store_true", help="npm ci with the user's npm cache")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    if shutil.which("npm") is None:
        raise SystemExit("node and npm are needed (Debian: apt-get install -y nodejs npm)")

    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sample_seconds = None
        if args.home:
            home = args.home.resolve()
        else:
            home, sample_seconds = sample_home(work, args.people, args.days)
        if not any((home / "data" / "serving" / "parquet" / "current").glob("*.parquet")):
            raise SystemExit(f"no published serving copy under {home}/data/serving: run the pipeline first")
        clone = work / "clone"
        shutil.rmtree(clone, ignore_errors=True)
        commit = fresh_clone(clone)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENT_", "DASHBOARD_", "PYTHONPATH"))}
        env["INTENT_HOME"] = str(home)
        if not args.warm_npm_cache:
            env["npm_config_cache"] = str(work / "npm-cache")
            shutil.rmtree(work / "npm-cache", ignore_errors=True)
        load_before = os.getloadavg()[0]
        cold = timed_build(clone, env)
        rebuild = timed_build(clone, env)
        result = {
            "bench": "dashboard",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit,
            "home": str(home) if args.home else f"sample: {args.people} people, {args.days} days",
            "sample_seconds": None if sample_seconds is None else round(sample_seconds, 1),
            "npm_cache": "user's" if args.warm_npm_cache else "empty",
            "cold_seconds": cold["seconds"],
            "cold_cpu_seconds": cold["cpu_seconds"],
            "cold_ran_npm_ci": cold["npm_ci"],
            "cold_goal_seconds": COLD_GOAL_SECONDS,
            "cold_meets_goal": cold["seconds"] <= COLD_GOAL_SECONDS,
            "rebuild_seconds": rebuild["seconds"],
            "rebuild_cpu_seconds": rebuild["cpu_seconds"],
            "rebuild_ran_npm_ci": rebuild["npm_ci"],
            "rebuild_goal_seconds": REBUILD_GOAL_SECONDS,
            "rebuild_meets_goal": rebuild["seconds"] <= REBUILD_GOAL_SECONDS,
            "cores": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
