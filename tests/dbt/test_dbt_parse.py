"""``pipeline.run_dbt`` keeps dbt's parse (docs/configuration.md#dbt-and-its-parse): a warehouse in
another folder, another interval and another scoring model re-parse only the files that read them,
never the whole project, and each scratch run leaves its parse for the next one."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from intent_pipeline import pipeline
from intent_pipeline.settings import Settings

pytestmark = pytest.mark.slow

MODEL = {"version": "lcm-parse", "intercept": -1.0, "calibration_a": 1.0, "calibration_c": 0.0,
         "features": [{"feature": "log_lead_age_days", "weight": -0.2, "mean": 1.0}], "learned_points": []}  # fmt: skip
# the files that read INTENT_SCORING_MODEL (through macro scoring_model())
SCORING_MODEL_FILES = {
    "models/intermediate/scoring/int_crm_lead_conversion_scores.sql",
    "models/intermediate/scoring/int_lead_conversion_scores.sql",
    "models/marts/scoring/crm_lead_scores.sql",
    "models/marts/scoring/scoring_rule_suggestions.sql",
}


def scratch(base: Path, lake: Path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(base), "INTENT_WAREHOUSE": str(base / "warehouse.duckdb"),
                              "INTENT_LAKE_DIR": str(lake), "INTENT_STATE_DIR": str(base / "state")})  # fmt: skip


def parse_log(target: Path) -> tuple[str, set[str]]:
    """What dbt said about its parse in the run's log: full (and why) or partial, the files re-parsed."""
    text = (target.parent / "logs" / "dbt.log").read_text()
    full = re.findall(r"Unable to do partial parsing because ([^\n]*)", text)
    updated = set(re.findall(r"Partial parsing: updated file: intent_warehouse://(\S+)", text))
    return ("full: " + full[-1]) if full else "partial", updated


def test_scratch_folders_start_from_the_cached_parse(warehouse, tmp_path, monkeypatch):
    assert warehouse.build.returncode == 0, warehouse.output
    # a private copy of the test run's parse (dbt-parse/target, made before the session build)
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(warehouse.base.parent / "dbt-parse" / "target" / pipeline.PARTIAL_PARSE_FILE,
                    cache / pipeline.PARTIAL_PARSE_FILE)  # fmt: skip
    monkeypatch.delenv("INTENT_DBT_PARSE_CACHE", raising=False)

    # a new folder: the warehouse elsewhere under the same name, no full parse
    first = tmp_path / "a" / "target"
    day = (datetime(2026, 11, 21), datetime(2026, 11, 22))
    done = pipeline.run_dbt(scratch(tmp_path / "a", warehouse.lake), "parse", interval=day, target=first,
                            parse_cache=cache, extra_env={"INTENT_SCORING_MODEL": ""})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert parse_log(first)[0] == "partial"
    assert (cache / pipeline.PARTIAL_PARSE_FILE).read_bytes() == (first / pipeline.PARTIAL_PARSE_FILE).read_bytes()

    # another folder, another day and an approved model: only the files that read them re-parse
    second = tmp_path / "b" / "target"
    later = (datetime(2026, 11, 27), datetime(2026, 11, 28))
    done = pipeline.run_dbt(scratch(tmp_path / "b", warehouse.lake), "parse", interval=later, target=second,
                            parse_cache=cache, extra_env={"INTENT_SCORING_MODEL": json.dumps(MODEL)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    kind, updated = parse_log(second)
    assert kind == "partial", kind
    assert SCORING_MODEL_FILES <= updated, updated
    assert "models/intermediate/scoring/int_score_points.sql" in updated  # it reads the interval
    assert not any(name.endswith("_sources.yml") for name in updated), updated  # the same lake
    assert len(updated) < 30, updated  # of about 310 files
    assert (cache / pipeline.PARTIAL_PARSE_FILE).read_bytes() == (second / pipeline.PARTIAL_PARSE_FILE).read_bytes()


def test_the_scoring_model_goes_in_the_environment_not_on_the_command_line(tmp_path):
    settings = scratch(tmp_path, tmp_path / "lake")
    command = pipeline.dbt_command(settings, "build")
    assert "--vars" not in command
    assert command[command.index("--target-path") + 1] == str(tmp_path / "state" / "dbt" / "target")
    assert pipeline.dbt_env(settings, datetime(2026, 11, 21), datetime(2026, 11, 22))["INTENT_SCORING_MODEL"] == ""
    assert pipeline.scoring_model_env({}) == ""
    assert json.loads(pipeline.scoring_model_env({"scoring_model": MODEL})) == MODEL
