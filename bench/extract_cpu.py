"""Benchmark: the extract's CPU seconds per source, this tree's code against a base commit's, alternated.

    python bench/extract_cpu.py [--people N] [--seed S] [--base REF] [--rounds R] [--keep DIR]

Generates one landing of N people (default 20,000; `python -m intent_pipeline synth`, as bench/pipeline.py
does), then extracts every source of it (`extract_source`, the entry point the DAG's extract tasks call)
with the base commit's `plugins/` (`git archive REF plugins`, default `main`) and with this tree's,
alternating the two R times (default 2), each source in a process of its own; a process's CPU seconds
(user + system, its imports included) per source and per run. After the last round it compares the two
lakes: every raw and quarantine table (`except all` both ways in DuckDB, the Parquet schemas equal) and
the manifests' JSON. The last line of output is one JSON object: CPU-s per source (the median of the
rounds) for both, their ratios (base / this tree) and `lakes_equal`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("forms", "email", "web", "crm")
INTERVAL = "2026-11-21"
EXTRACT = """
import sys
from datetime import date, datetime
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source
settings = Settings.from_env({"INTENT_HOME": sys.argv[1], "INTENT_LANDING_URL": sys.argv[2],
                              "INTENT_LAKE_DIR": sys.argv[3]})
extract_source(sys.argv[4], settings, date.fromisoformat(sys.argv[5]), batch_id="bench/extract_cpu",
               loaded_at=datetime(2026, 11, 22))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def extract_cpu(plugins: Path, home: Path, landing: Path, lake: Path, source: str) -> float:
    """CPU seconds of one process extracting ``source`` with the code under ``plugins``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTENT_")} | {"PYTHONPATH": str(plugins)}
    before = _children_cpu()
    subprocess.run([sys.executable, "-c", EXTRACT, str(home), str(landing), str(lake), source, INTERVAL],
                   env=env, check=True)  # fmt: skip
    return _children_cpu() - before


def lakes_differences(first: Path, second: Path) -> list[str]:
    """What differs between two lakes: Parquet partitions (rows both ways, schema) and manifests."""
    import duckdb
    import pyarrow.parquet as pq

    differences = []
    con = duckdb.connect()
    names = {p.relative_to(first) for p in first.rglob("*.parquet")} | {
        p.relative_to(second) for p in second.rglob("*.parquet")
    }
    for name in sorted(names):
        one, two = first / name, second / name
        if not (one.exists() and two.exists()):
            differences.append(f"{name}: in one lake only")
            continue
        if pq.read_schema(one) != pq.read_schema(two):
            differences.append(f"{name}: schemas differ")
            continue
        for a, b in ((one, two), (two, one)):
            extra = con.execute(f"select count(*) from (from '{a}' except all from '{b}')").fetchone()[0]
            if extra:
                differences.append(f"{name}: {extra} rows of {a} not in {b}")
    for manifest in sorted(first.rglob("manifests/**/*.json")):
        other = second / manifest.relative_to(first)
        if not other.exists() or json.loads(manifest.read_text()) != json.loads(other.read_text()):
            differences.append(f"{manifest.relative_to(first)}: manifests differ")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--base", default="main")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="extract-cpu-"))
    base.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "plugins"], check=True,
                             capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(base / "base", filter="data")
    code = {"base": base / "base" / "plugins", "tree": ROOT / "plugins"}
    landing = base / "landing"
    if not landing.exists():
        subprocess.run([sys.executable, "-m", "intent_pipeline", "synth", "--people", str(args.people), "--seed",
                        str(args.seed), "--date", INTERVAL, "--landing", str(landing), "--truth",
                        str(base / "truth")], env={**os.environ, "PYTHONPATH": str(code["tree"])},
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    cpu: dict[str, dict[str, list[float]]] = {name: {s: [] for s in SOURCES} for name in code}
    for round_ in range(args.rounds):
        for name in ("base", "tree") if round_ % 2 == 0 else ("tree", "base"):
            for source in SOURCES:
                seconds = extract_cpu(code[name], base / name, landing, base / name / "lake", source)
                cpu[name][source].append(seconds)
                print(f"round {round_ + 1} {name} {source}: {seconds:.2f} CPU-s", flush=True)
    differences = lakes_differences(base / "base" / "lake", base / "tree" / "lake")
    for line in differences:
        print("DIFFERS:", line)
    median = {name: {s: round(statistics.median(v), 2) for s, v in by.items()} for name, by in cpu.items()}
    total = {name: round(sum(by.values()), 2) for name, by in median.items()}
    print(json.dumps({
        "people": args.people,
        "seed": args.seed,
        "base": args.base,
        "rounds": args.rounds,
        "base_cpu_seconds": median["base"],
        "tree_cpu_seconds": median["tree"],
        "base_cpu_seconds_sum": total["base"],
        "tree_cpu_seconds_sum": total["tree"],
        "ratio_by_source": {s: round(median["base"][s] / median["tree"][s], 2) for s in SOURCES},
        "ratio_base_to_tree": round(total["base"] / total["tree"], 2),
        "lakes_equal": not differences,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
