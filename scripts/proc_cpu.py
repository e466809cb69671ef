"""CPU-seconds of a process tree, by kind of process, sampled from /proc (Linux).

    python scripts/proc_cpu.py --root PID [--every 1] --out cpu-kinds.json

Every ``--every`` seconds it reads each descendant of ``--root`` (and ``--root`` itself): its own user +
system time (``/proc/PID/stat`` fields 14-15) and its command line. A process's CPU is its last sample,
so a process that lived less than one interval is missed and one that died keeps its CPU up to its last
sample; pg_ctl's daemonised servers and anything else re-parented away from the tree are not seen.
When the root exits it writes {kind: CPU-seconds} (and the processes of each kind) to ``--out``.
Used for issue 16's split of the scheduler, Spark and dashboard tests (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# (kind, words of the command line that mark it), first match wins
KINDS = (
    ("java (Spark JVM)", ("java",)),
    ("chromium", ("chrom",)),
    ("dbt fork server and its calls", ("intent_pipeline.dbt_fork",)),
    ("dbt", ("/dbt ", "dbt.cli", "bin/dbt", "(dbt)")),  # (dbt): a process seen after its exit, by its name
    ("spark_build driver", ("intent_pipeline.spark_build",)),
    ("api-server", ("api_server", "api-server")),
    ("scheduler", ("airflow scheduler",)),
    ("dag-processor", ("dag-processor", "dag_processor", "dag processor")),
    ("airflow serve-logs", ("serve-logs",)),
    ("airflow task (supervisor and task)", ("airflow worker -- 0",)),
    ("airflow LocalExecutor worker", ("LocalExecutor",)),
    ("airflow CLI", ("/airflow ", "-m airflow", "cli_parser")),
    ("postgres client/server", ("postgres", "pg_ctl", "initdb")),
    ("BI reader/holder", ("import duckdb", "psycopg2")),
    ("pytest", ("pytest",)),
)


# the dashboard build's programs, by the command's first word: a word "node" anywhere in a command line
# also matched dbt builds whose arguments name a model with "node" in it (docs/benchmarks.md, schedcpu2)
NODE_PROGRAMS = ("node", "npm", "npx", "esbuild", "observable")


def kind_of(cmdline: str) -> str:
    if Path(cmdline.split(" ", 1)[0]).name in NODE_PROGRAMS:
        return "node (dashboard build)"
    for kind, words in KINDS:
        if any(word in cmdline for word in words):
            return kind
    return "other: " + cmdline[:60]


def snapshot() -> dict[int, tuple[int, float, str]]:
    """pid -> (ppid, CPU-seconds, command line) of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, cmd or stat.split()[1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=int, required=True)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    seen: dict[int, tuple[float, str]] = {}  # pid -> (CPU-seconds at its last sample, command line)
    tree = {args.root}
    while os.path.exists(f"/proc/{args.root}"):
        procs = snapshot()
        changed = True
        while changed:  # descendants: parents first or not, until no new one is found
            changed = False
            for pid, (ppid, _, _) in procs.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        for pid in tree & procs.keys():
            _, cpu, cmd = procs[pid]
            if pid not in seen or cpu >= seen[pid][0]:
                seen[pid] = (cpu, cmd)
        tree &= procs.keys() | {args.root}
        time.sleep(args.every)
    kinds: dict[str, dict] = {}
    for cpu, cmd in seen.values():
        kind = kinds.setdefault(kind_of(cmd), {"cpu_s": 0.0, "processes": 0})
        kind["cpu_s"] += cpu
        kind["processes"] += 1
    ordered = dict(sorted(((k, {**v, "cpu_s": round(v["cpu_s"], 1)}) for k, v in kinds.items()),
                          key=lambda item: -item[1]["cpu_s"]))  # fmt: skip
    args.out.write_text(json.dumps({"total_cpu_s": round(sum(v["cpu_s"] for v in kinds.values()), 1),
                                    "kinds": ordered}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
