"""Benchmark: a dbt call through the fork server (intent_pipeline.dbt_fork) against the dbt subprocess.

    python bench/dbt_fork.py [--calls N] [--select SELECTOR]

Parses the project once into a scratch state folder (``pipeline.run_dbt``: a warehouse of its own,
no lake needed for a call that runs no node), starts a real fork server, then makes ``N`` calls of
``dbt run --select SELECTOR`` (default ``tag:no_such_tag``: dbt's start, profile, the kept parse's
load and the adapter, no node: the fixed cost of every dbt call) each way, alternating, through
``pipeline.run_dbt`` in the same run: ``subprocess`` (no ``INTENT_DBT_FORK_SOCKET``) and ``fork``
(the server's socket). CPU-seconds: the subprocess side is ``RUSAGE_CHILDREN`` of this process (the
server is not reaped until the end, so it is not in it); the fork side is the server's reaped
children (``children_cpu_s`` of its stats: ``wait4``'s rusage), and the server's own CPU (dbt's
import, once) is reported apart and added in ``fork_cpu_s_with_server``. Every call's return code and
output (clock times and durations left out) must be the same both ways: ``outputs_equal`` false and
exit code 1 otherwise. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from intent_pipeline import dbt_fork, pipeline  # noqa: E402
from intent_pipeline.settings import Settings  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _clockless(text: str) -> str:
    return re.sub(r"\d+\.\d+s|\d+\.\d+ seconds", "<duration>", re.sub(r"\d\d:\d\d:\d\d", "<time>", text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5, help="calls each way (the scale factor)")
    parser.add_argument("--select", default="tag:no_such_tag")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="intent-dbt-fork-bench-"))
    os.environ.pop("INTENT_DBT_FORK_SOCKET", None)
    settings = Settings.from_env().model_copy(
        update={"warehouse": base / "w" / "warehouse.duckdb", "state_dir": base / "state", "lake_dir": base / "lake"}
    )
    result: dict = {"benchmark": "dbt_fork", "calls": args.calls, "select": args.select}
    server = None
    try:
        parsed = pipeline.run_dbt(settings, "parse", interval=None)
        if parsed.returncode != 0:
            sys.exit(f"dbt parse failed:\n{parsed.stdout[-3000:]}")
        env = pipeline.dbt_env(settings, None, None)
        server = dbt_fork.start(base / "s.sock", env, base / "server.log")
        start = dbt_fork.stats(base / "s.sock")  # waits for the server's import of dbt
        result["server_start_cpu_s"] = round(start["cpu_s"], 2)
        cpu = {"subprocess": 0.0, "fork": 0.0}
        outputs = {"subprocess": [], "fork": []}
        for _ in range(args.calls):
            for side in ("subprocess", "fork"):
                if side == "fork":
                    os.environ["INTENT_DBT_FORK_SOCKET"] = str(base / "s.sock")
                    before = dbt_fork.stats(base / "s.sock")["children_cpu_s"]
                else:
                    os.environ.pop("INTENT_DBT_FORK_SOCKET", None)
                    before = _children_cpu()
                done = pipeline.run_dbt(settings, "run", "--select", args.select, interval=None)
                after = dbt_fork.stats(base / "s.sock")["children_cpu_s"] if side == "fork" else _children_cpu()
                os.environ.pop("INTENT_DBT_FORK_SOCKET", None)
                cpu[side] += after - before
                outputs[side].append((done.returncode, _clockless(done.stdout), done.stderr))
        stats = dbt_fork.stats(base / "s.sock")
        if stats["calls"] != args.calls:
            sys.exit(f"the server forked {stats['calls']} calls, not {args.calls}: a call fell back")
        result.update(
            subprocess_cpu_s_per_call=round(cpu["subprocess"] / args.calls, 3),
            fork_cpu_s_per_call=round(cpu["fork"] / args.calls, 3),
            ratio_fork_to_subprocess=round(cpu["fork"] / cpu["subprocess"], 3),
            fork_cpu_s_with_server=round(cpu["fork"] + stats["cpu_s"] - stats["children_cpu_s"], 2),
            subprocess_cpu_s=round(cpu["subprocess"], 2),
            return_codes=sorted({code for side in outputs.values() for code, _, _ in side}),
            outputs_equal=outputs["subprocess"] == outputs["fork"],
            load=os.getloadavg()[0],
        )
    finally:
        if server is not None:
            dbt_fork.stop(server)
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))
    if not result.get("outputs_equal"):
        sys.exit(1)


if __name__ == "__main__":
    main()
