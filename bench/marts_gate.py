"""Benchmark: the marts quality gate (``validate_marts``) alone, its peak memory and CPU, a baseline revision against
this tree on the same warehouse, alternated, and whether their reports are the same.

    python bench/marts_gate.py [--people N] [--warehouse PATH] [--baseline-rev main] [--rev HEAD] [--rounds 2]
                               [--plant] [--keep DIR] [--only baseline|branch]

Without ``--warehouse`` it builds one first with ``bench/pipeline.py --no-incremental --people N`` (default 1,000,
a few minutes) in the work folder. The gate then runs in a process of its own under ``/usr/bin/time -v``,
baseline, this tree, baseline, this tree (``--rounds`` pairs), reading the warehouse read-only (it is never
written). Both sides are ``git archive`` of a commit (plugins, expectations, dbt_project): the baseline of
``--baseline-rev``, the branch of ``--rev`` (HEAD: committed code only, so an edit while it runs changes
nothing). Each run writes its own reports and verdict folders; their ``marts.json``, ``marts.md`` and verdict
rows (less ``validated_at``) must be equal. ``--only`` runs one side and compares it with the other side's runs
kept in ``--keep`` (their figures too): one large run at a time.

With ``--plant`` the gates read a copy of the warehouse with violations in it: ``lead_scores``' last row (in
table order) gets a person id missing from ``people``, ``funnel_stages``' last row a null ``person_id``, and
``segment_high_intent``' first row is inserted again (a duplicate ``person_id`` and ``email``).

The last line is one JSON object: each run's peak RSS (MB), CPU-s (user + sys) and wall, the branch's medians
over the baseline's (``rss_ratio``, ``cpu_ratio``), ``reports_equal`` and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from raw_gate import _env, _run, baseline_tree, time_v, verdict_rows  # noqa: E402  (one home for the gate benches' plumbing)

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = "2026-11-21"
GATE = (
    "import datetime; from intent_pipeline.quality import validate_marts; "
    "from intent_pipeline.settings import Settings; "
    f"r = validate_marts(Settings.from_env(), datetime.date.fromisoformat('{INTERVAL}'), run_id='bench/marts_gate'); "
    "print('gate success', r['success'], r['critical_failures'], r['warning_failures'])"
)
PLANT = [
    "update marts.lead_scores set person_id = 'planted-missing-person'"
    " where rowid = (select max(rowid) from marts.lead_scores)",
    "update marts.funnel_stages set person_id = null where rowid = (select max(rowid) from marts.funnel_stages)",
    "insert into marts.segment_high_intent select * from marts.segment_high_intent"
    " where rowid = (select min(rowid) from marts.segment_high_intent)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--warehouse", type=Path, help="a kept warehouse to read (read-only; default: build one)")
    parser.add_argument("--baseline-rev", default="main")
    parser.add_argument("--rev", default="HEAD", help="the branch side's commit")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/branch pairs, alternated")
    parser.add_argument("--only", choices=("baseline", "branch"), help="run one side; the other's kept runs count")
    parser.add_argument("--plant", action="store_true", help="validate a copy with planted violations")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="intent-martsgate-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    warehouse = args.warehouse
    if warehouse is None:
        warehouse = base / "pipeline" / "home" / "data" / "warehouse.duckdb"
        if not warehouse.exists():
            build = [sys.executable, str(ROOT / "bench" / "pipeline.py"), "--no-incremental"]
            build += ["--people", str(args.people)]
            _run([*build, "--keep", str(base / "pipeline")], dict(os.environ), base / "pipeline.log")
    if args.plant:
        warehouse = plant(warehouse, base / "planted.duckdb")
    result = run_gates(args, base, warehouse)
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


def plant(warehouse: Path, copy: Path) -> Path:
    """A copy of ``warehouse`` with :data:`PLANT`'s violations."""
    import duckdb

    shutil.copyfile(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        for sql in PLANT:
            con.execute(sql)
    finally:
        con.close()
    return copy


def _reports(out: Path) -> tuple:
    """One run's ``marts.json``, ``marts.md`` and verdict rows."""
    folder = out / "reports" / "quality" / f"dt={INTERVAL}"
    return (
        (folder / "marts.json").read_text(encoding="utf-8"),
        (folder / "marts.md").read_text(encoding="utf-8"),
        verdict_rows(out / "lake" / "gate_results" / "marts" / f"dt={INTERVAL}.parquet"),
    )


def run_gates(args: argparse.Namespace, base: Path, warehouse: Path) -> dict:
    """The gate ``--rounds`` times each way, alternated (module docstring); prints each run's figures."""
    trees = {"baseline": baseline_tree(base, args.baseline_rev), "branch": baseline_tree(base, args.rev, "branch-tree")}
    runs: dict[str, list[dict]] = {"baseline": [], "branch": []}
    reports: dict[str, tuple] = {}
    loads = [round(os.getloadavg()[0], 2)]
    for number in range(args.rounds):
        for name, tree in trees.items():
            out = base / f"{name}-{number}"
            if args.only not in (None, name):
                if (out / "figures.json").exists():  # the other side's kept run
                    runs[name].append(json.loads((out / "figures.json").read_text()))
                    reports[f"{name}-{number}"] = _reports(out)
                continue
            shutil.rmtree(out, ignore_errors=True)
            extra = {"INTENT_WAREHOUSE": str(warehouse), "INTENT_LAKE_DIR": str(out / "lake"),
                     "INTENT_REPORTS_DIR": str(out / "reports")}  # fmt: skip
            output = _run(["/usr/bin/time", "-v", sys.executable, "-c", GATE],
                          _env(base, tree / "plugins", **extra), base / f"gate-{name}-{number}.log")  # fmt: skip
            figures = {**time_v(output), "load_after": round(os.getloadavg()[0], 2)}
            (out / "figures.json").write_text(json.dumps(figures))
            runs[name].append(figures)
            loads.append(figures["load_after"])
            reports[f"{name}-{number}"] = _reports(out)
            print(f"{name} {number}: {figures}", flush=True)
    first = reports["baseline-0"]
    equal = all(report == first for report in reports.values())
    for name, report in reports.items():
        for part, mine, theirs in zip(("marts.json", "marts.md", "verdicts"), report, first, strict=True):
            if mine != theirs:
                print(f"{name}: {part} differs from baseline-0's (see {base})")
    gate = json.loads(first[0])

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    return {
        "bench": "marts_gate",
        "warehouse": str(args.warehouse or "built"),
        "people": None if args.warehouse else args.people,
        "planted": args.plant,
        "baseline_rev": args.baseline_rev,
        "rev": subprocess.run(
            ["git", "rev-parse", "--short", args.rev], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "rows": {table: t["rows"] for table, t in gate["tables"].items()},
        "gate": {key: gate[key] for key in ("success", "critical_failures", "warning_failures")},
        "runs": runs,
        "rss_ratio": round(median("branch", "peak_rss_mb") / median("baseline", "peak_rss_mb"), 3),
        "cpu_ratio": round(median("branch", "cpu_s") / median("baseline", "cpu_s"), 3),
        "reports_equal": equal,
        "load_average": loads,
    }


if __name__ == "__main__":
    main()
