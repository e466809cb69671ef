"""The DuckDB settings of the dev target (dbt_project/profiles.yml) reach the connection dbt builds with:
``checkpoint_threshold`` above DuckDB's 16 MiB, so that a build checkpoints when it closes rather than
every few tables (docs/incremental.md, "The floor of a day's build"), and the file is left without a WAL."""

from __future__ import annotations

import json
import re

import pytest
from intent_pipeline import pipeline
from intent_pipeline.settings import Settings

pytestmark = pytest.mark.slow

UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def test_the_build_connection_checkpoints_late_and_closes_clean(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_WAREHOUSE": str(warehouse)})
    query = "select current_setting('checkpoint_threshold') as threshold"
    done = pipeline.run_dbt(settings, "show", "--inline", query, "--output", "json", "--log-format", "json",
                            interval=None, target=tmp_path / "target")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    shown = [json.loads(line)["data"]["preview"] for line in done.stdout.splitlines()
             if line.startswith("{") and "preview" in line]  # fmt: skip
    threshold = json.loads(shown[-1])[0]["threshold"]
    number, unit = re.fullmatch(r"([\d.]+) (\w+)", threshold).groups()
    assert float(number) * UNITS[unit] >= 0.99e9, threshold  # 1GB, not DuckDB's 16 MiB
    assert warehouse.exists() and not warehouse.with_name(warehouse.name + ".wal").exists()
