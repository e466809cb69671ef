"""bench/dashboard.py refuses, saying why, when there is no published serving copy to build from.

The bench itself (a fresh clone, ``npm ci``, two builds) takes minutes and downloads the packages:
it is run by hand (docs/dashboards.md, "Measured"), not here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_stops_without_a_serving_copy(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "dashboard.py"), "--home", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 1
    assert f"no published serving copy under {tmp_path}/data/serving" in done.stderr
    assert not (tmp_path / "clone").exists()
