"""bench/pipeline.py's per-task resources (``stage_resources``): the ``airflow dags test`` process tree
sampled from /proc, its resident memory per task and its CPU-seconds, a child that ended included."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from tests.benches import load_bench

bench = load_bench("pipeline")

# a parent that starts a child holding 200 MB and burning CPU, waits for it, then lives on a while so
# that the tree is sampled after the child ended (its CPU is then only in the parent's cutime)
CHILD = (
    "import time; x = bytearray(200 * 2**20); x[::4096] = b'1' * len(x[::4096]); sum(range(2 * 10**7)); time.sleep(1)"
)
PARENT = f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {CHILD!r}], check=True); time.sleep(1)"


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat(" ")


def test_a_tasks_peak_memory_and_cpu_include_its_children(tmp_path):
    seconds, samples = bench._run_sampled([sys.executable, "-c", PARENT], dict(os.environ), tmp_path / "log", every=0.2)
    assert seconds > 0 and len(samples) >= 3
    first, last = samples[0][0], samples[-1][0]
    spans = {"whole": (_utc(first - 1), _utc(last + 1)), "before": (_utc(first - 60), _utc(first - 30))}
    figures = bench.task_resources(samples, spans)
    whole = figures["whole"]
    # the child's 200 MB (touched, so resident) is seen, in the tree and as its largest process
    assert whole["peak_process_rss_mb"] >= 190
    assert whole["peak_tree_rss_mb"] >= whole["peak_process_rss_mb"]
    # the child's CPU (2 * 10**7 additions) still counts after it ended: the parent waited for it
    after_child = samples[-1]
    assert after_child[2] < 100  # the last sample: the child is gone, only the parent is resident
    assert whole["cpu_seconds"] >= 0.2
    # a task during which nothing was sampled has no peak, and no CPU
    assert figures["before"] == {"peak_tree_rss_mb": None, "peak_process_rss_mb": None, "cpu_seconds": 0.0}
