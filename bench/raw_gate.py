"""Benchmark: the raw quality gate (``validate_raw``) alone, its peak memory and CPU, a baseline revision against
this tree on the same generated lake, and whether their reports are the same.

    python bench/raw_gate.py [--people N] [--seed S] [--baseline-rev main] [--small-batch ROWS] [--keep DIR] [--plant]
                             [--files N]

Generates N people (default 20,000) with ``intent_pipeline synth``, extracts the interval 2026-11-21 into a raw
lake, then runs the gate in a process of its own under ``/usr/bin/time -v`` three times: with the baseline
revision's code (``git archive`` of ``--baseline-rev``: plugins, expectations, dbt_project), with this tree at
its default ``INTENT_RAW_GATE_BATCH_ROWS`` and with this tree at ``--small-batch`` rows (default 10,000, so the
large tables take many batches). Each run writes its own reports folder; the verdicts it records in the lake
are copied aside. The runs' ``raw.json``, ``raw.md`` and verdict rows (less ``validated_at``) must be equal.

With ``--plant`` the extracted lake gets violations spread over the batches before the gate runs: the first 10
``web_events`` rows again at the partition's end (duplicate ids in the first and the last batch) and every
50,000th ``email_events`` row an unknown ``event``. A ``--keep`` folder that already holds an extracted lake is
reused (no new synth or extract). With ``--files N`` the ``web_events`` partition is landed again as N files
of consecutive rows (``part-0000.parquet`` …, same rows, same order; an extract that flushed often) before the
gate runs.

The last line is one JSON object: rows per table, each run's peak RSS (MB), CPU-s (user + sys) and wall,
the ratios against the baseline, and ``reports_equal``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = "2026-11-21"
GATE = (
    "import datetime; from intent_pipeline.quality import validate_raw; from intent_pipeline.settings import Settings; "
    f"r = validate_raw(Settings.from_env(), datetime.date.fromisoformat('{INTERVAL}'), run_id='bench/raw_gate'); "
    "print('gate success', r['success'], r['critical_failures'], r['warning_failures'])"
)


def _env(base: Path, plugins: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENT_", "AIRFLOW_CONN_"))}
    env.update(PYTHONPATH=str(plugins), INTENT_HOME=str(base / "home"), **extra)
    return env


def _run(args: list[str], env: dict, log: Path) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:5])} failed, see {log}:\n{(done.stdout + done.stderr)[-3000:]}")
    return done.stdout + done.stderr


def time_v(text: str) -> dict:
    """Peak RSS (MB), CPU-s and wall of ``/usr/bin/time -v``'s report."""

    def field(name: str) -> str:
        match = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.MULTILINE)
        if match is None:
            raise ValueError(f"/usr/bin/time -v printed no {name!r}")
        return match.group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {
        "peak_rss_mb": round(int(field("Maximum resident set size (kbytes)")) / 1024, 1),
        "cpu_s": round(float(field("User time (seconds)")) + float(field("System time (seconds)")), 2),
        "wall_s": round(wall, 2),
    }


def verdict_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    for row in rows:
        row.pop("validated_at", None)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-rev", default="main")
    parser.add_argument("--small-batch", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    parser.add_argument("--plant", action="store_true", help="plant violations spread over the batches")
    parser.add_argument("--files", type=int, help="land the web_events partition again as this many files")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="intent-rawgate-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    data = base / "home" / "data"
    env = _env(base, ROOT / "plugins")
    lake = data / "lake"
    if not (lake / "manifests").exists():
        _extract(base, data, env, args)
    if args.plant:
        plant(lake)
    if args.files:
        split_files(lake / "raw" / "web_events" / f"dt={INTERVAL}", args.files)
    rows = {}
    for manifest in sorted((lake / "manifests").glob(f"*/dt={INTERVAL}.json")):
        rows.update({table: c["loaded"] for table, c in json.loads(manifest.read_text())["tables"].items()})
    run_gates(args, base, lake, rows)


def plant(lake: Path) -> None:
    """Violations over the batches (module docstring), written back in row groups of 24,000 rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    web = lake / "raw" / "web_events" / f"dt={INTERVAL}" / "part-0.parquet"
    table = pq.read_table(web, partitioning=None)
    pq.write_table(pa.concat_tables([table, table.slice(0, 10)]), web, row_group_size=24_000, compression="zstd")
    email = lake / "raw" / "email_events" / f"dt={INTERVAL}" / "part-0.parquet"
    table = pq.read_table(email, partitioning=None)
    every = pa.array(np.arange(1, table.num_rows + 1) % 50_000 == 0)
    event = pc.if_else(every, pa.scalar("link_preview"), table.column("event"))
    table = table.set_column(table.schema.get_field_index("event"), "event", event)
    pq.write_table(table, email, row_group_size=24_000, compression="zstd")


def split_files(folder: Path, files: int) -> None:
    """The partition in ``folder`` written again as ``files`` files of consecutive rows, in the same order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = sorted(folder.glob("*.parquet"))
    table = pa.concat_tables([pq.ParquetFile(path).read() for path in old])
    for path in old:
        path.unlink()
    size = -(-table.num_rows // files)
    for number in range(files):
        pq.write_table(table.slice(number * size, size), folder / f"part-{number:04d}.parquet", compression="zstd")


def _extract(base: Path, data: Path, env: dict, args: argparse.Namespace) -> None:
    _run([sys.executable, "-m", "intent_pipeline", "synth", "--people", str(args.people), "--seed", str(args.seed),
          "--date", INTERVAL, "--landing", str(data / "landing"), "--truth", str(data / "ground_truth")],
         env, base / "synth.log")  # fmt: skip
    extract = (
        "import datetime; from intent_pipeline.settings import Settings; "
        "from intent_pipeline.sources import SOURCES, extract_source; s = Settings.from_env(); "
        f"day = datetime.date.fromisoformat('{INTERVAL}'); "
        "[extract_source(x, s, day, batch_id=f'bench/{x}', loaded_at=datetime.datetime(2026, 11, 22)) for x in SOURCES]"
    )
    _run([sys.executable, "-c", extract], env, base / "extract.log")


def baseline_tree(base: Path, rev: str, name: str = "baseline-tree") -> Path:
    """``<base>/<name>``: ``git archive`` of ``rev``'s plugins, expectations and dbt_project (kept once made)."""
    baseline = base / name
    if not baseline.exists():
        baseline.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev, "plugins", "expectations", "dbt_project"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
    return baseline


def run_gates(args: argparse.Namespace, base: Path, lake: Path, rows: dict) -> None:
    """The gate three times (module docstring); prints each run's figures and the JSON line."""
    baseline = baseline_tree(base, args.baseline_rev)
    runs = {
        "baseline": (baseline / "plugins", None),
        "default_batch": (ROOT / "plugins", None),
        "small_batch": (ROOT / "plugins", str(args.small_batch)),
    }
    figures, reports = {}, {}
    verdicts = lake / "gate_results" / "raw" / f"dt={INTERVAL}.parquet"
    for name, (plugins, batch_rows) in runs.items():
        extra = {"INTENT_LAKE_DIR": str(lake), "INTENT_REPORTS_DIR": str(base / f"reports-{name}")}
        if batch_rows is not None:
            extra["INTENT_RAW_GATE_BATCH_ROWS"] = batch_rows
        output = _run(["/usr/bin/time", "-v", sys.executable, "-c", GATE], _env(base, plugins, **extra),
                      base / f"gate-{name}.log")  # fmt: skip
        figures[name] = time_v(output)
        folder = base / f"reports-{name}" / "quality" / f"dt={INTERVAL}"
        reports[name] = (
            (folder / "raw.json").read_text(encoding="utf-8"),
            (folder / "raw.md").read_text(encoding="utf-8"),
            verdict_rows(verdicts),
        )
        print(f"{name}: {figures[name]}", flush=True)
    equal = {name: reports[name] == reports["baseline"] for name in runs if name != "baseline"}
    for name, same in equal.items():
        if not same:
            for number, part in enumerate(("raw.json", "raw.md", "verdicts")):
                if reports[name][number] != reports["baseline"][number]:
                    print(f"{name}: {part} differs from the baseline's (see {base})")
    result = {
        "bench": "raw_gate",
        "people": args.people,
        "seed": args.seed,
        "baseline_rev": args.baseline_rev,
        "small_batch_rows": args.small_batch,
        "planted": args.plant,
        "web_events_files": len(list((lake / "raw" / "web_events" / f"dt={INTERVAL}").glob("*.parquet"))),
        "rows": rows,
        "runs": figures,
        **{
            f"{figure}_ratio_{name}_to_baseline": round(figures[name][key] / figures["baseline"][key], 3)
            for figure, key in (("rss", "peak_rss_mb"), ("cpu", "cpu_s"))
            for name in ("default_batch", "small_batch")
        },
        "reports_equal": equal,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
