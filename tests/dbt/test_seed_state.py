"""The daily build leaves out the seeds that did not change since the warehouse's last successful
build, and the data tests that read only them (intent_pipeline.seed_state, pipeline.duckdb_build);
a changed seed, a missing seed table and a full refresh build them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from intent_pipeline import pipeline, seed_state
from intent_pipeline.settings import Settings

from tests.dbt.conftest import DBT_PROJECT, INTERVAL_END, INTERVAL_START, _seed_partial_parse, copy_of


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return project


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    assert set(before) == set(after)
    return {seed for seed in before if before[seed] != after[seed]}


def test_a_seeds_fingerprint_follows_its_file_and_the_projects_configuration(tmp_path):
    project = _project_copy(tmp_path)
    before = seed_state.fingerprints(project)
    assert set(before) == {path.stem for path in (DBT_PROJECT / "seeds").glob("*.csv")}
    assert seed_state.fingerprints(project) == before  # the same files, the same fingerprints

    rules = project / "seeds" / "scoring_rules.csv"
    rules.write_text(rules.read_text(encoding="utf-8").replace(",", ";", 1), encoding="utf-8")
    edited = seed_state.fingerprints(project)
    assert _changed(before, edited) == {"scoring_rules"}

    # a seed's configuration and tests live in the project's YAML (dbt_project.yml, seeds/_*.yml) and
    # its singular tests: a change there may change how any seed loads or is tested
    for path in (project / "dbt_project.yml", project / "seeds" / "_scoring_seeds.yml"):
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        again = seed_state.fingerprints(project)
        assert _changed(edited, again) == set(before), path
        edited = again


def test_only_tests_that_read_nothing_but_the_left_out_seeds_are_left_out():
    manifest = {
        "nodes": {
            "seed.p.rules": {"resource_type": "seed", "name": "rules"},
            "seed.p.teams": {"resource_type": "seed", "name": "teams"},
            "model.p.scores": {"resource_type": "model", "name": "scores"},
            "test.p.unique_rules_id": {"resource_type": "test", "name": "unique_rules_id",
                                       "depends_on": {"nodes": ["seed.p.rules"]}},
            "test.p.rules_teams": {"resource_type": "test", "name": "rules_teams",
                                   "depends_on": {"nodes": ["seed.p.rules", "seed.p.teams"]}},
            "test.p.scores_rules": {"resource_type": "test", "name": "scores_rules",
                                    "depends_on": {"nodes": ["model.p.scores", "seed.p.rules"]}},
            "test.p.no_parent": {"resource_type": "test", "name": "no_parent", "depends_on": {"nodes": []}},
        }
    }  # fmt: skip
    assert seed_state.tests_of_only(manifest, ["rules"]) == ["unique_rules_id"]
    assert seed_state.tests_of_only(manifest, ["rules", "teams"]) == ["rules_teams", "unique_rules_id"]
    assert seed_state.tests_of_only(manifest, []) == []


def test_a_full_refresh_or_a_warehouse_without_a_record_builds_every_seed(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    manifest = tmp_path / "manifest.json"
    current = seed_state.fingerprints(DBT_PROJECT)
    assert seed_state.skip_args(current, warehouse, manifest, full_refresh=False) == ()  # no warehouse
    duckdb.connect(str(warehouse)).close()
    assert seed_state.recorded(warehouse) == {}
    assert seed_state.skip_args(current, warehouse, manifest, full_refresh=False) == ()  # no record
    con = duckdb.connect(str(warehouse))
    con.execute("create schema staging")
    con.execute("create table staging.scoring_rules (x int)")
    con.close()
    seed_state.record(current, warehouse)
    # a record, and the one seed table there: that seed alone (no manifest: its tests still run)
    assert seed_state.skip_args(current, warehouse, manifest, full_refresh=False) == ("--exclude", "scoring_rules")
    assert seed_state.skip_args(current, warehouse, manifest, full_refresh=True) == ()
    # a manifest cut short (dbt killed while writing it): the seed is still left out, its tests run
    manifest.write_text('{"nodes": {"test.p.unique_scoring_rules', encoding="utf-8")
    assert seed_state.skip_args(current, warehouse, manifest, full_refresh=False) == ("--exclude", "scoring_rules")


def test_what_dbt_wrote_into_the_project_is_not_part_of_a_fingerprint(tmp_path):
    """A hand run's target/ and logs/ (thousands of files, YAML among them) change nothing; the
    project's own files are found relative to it, whatever folders the checkout sits in."""
    project = _project_copy(tmp_path / "logs" / "target")  # a checkout below folders with those names
    before = seed_state.fingerprints(project)
    for generated in ("target/run/x/schema.yml", "logs/dbt.yml", "dbt_packages/pkg/dbt_project.yml"):
        (project / generated).parent.mkdir(parents=True, exist_ok=True)
        (project / generated).write_text("version: 2\n", encoding="utf-8")
    assert seed_state.fingerprints(project) == before
    (project / "seeds" / "_scoring_seeds.yml").write_text("# edited\n", encoding="utf-8")
    assert _changed(before, seed_state.fingerprints(project)) == set(before)


@pytest.mark.slow
def test_the_daily_build_rebuilds_a_changed_or_missing_seed_and_leaves_the_others(warehouse, tmp_path):
    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path)
    settings = Settings.from_env({
        "INTENT_HOME": str(tmp_path), "INTENT_WAREHOUSE": str(build.warehouse), "INTENT_LAKE_DIR": str(build.lake),
        "INTENT_STATE_DIR": str(tmp_path / "state"),
    })  # fmt: skip
    target = tmp_path / "target"
    _seed_partial_parse(tmp_path)  # the test run's parse: no full parse here
    manifest_path = warehouse.base / "target" / "manifest.json"
    shutil.copyfile(manifest_path, target / "manifest.json")  # the last build's, as the DAG's target keeps it
    manifest = json.loads(manifest_path.read_text())
    seeds = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "seed"}

    # the session build loaded every seed of this project: its record is the project's fingerprints;
    # then one seed changes (its recorded fingerprint no longer matches) and one seed table is lost
    current = seed_state.fingerprints(DBT_PROJECT)
    seed_state.record(current, build.warehouse)
    con = duckdb.connect(str(build.warehouse))
    con.execute(f"update {seed_state.STATE_TABLE} set fingerprint = 'edited' where seed = 'scoring_rules'")
    con.execute("drop table staging.icp_industries")
    con.close()
    marts = [table for table in build.tables() if table.startswith("marts.")]
    assert marts  # Build.rows() of no table would read every table
    before = build.rows(*marts)

    done = pipeline.duckdb_build(settings, (INTERVAL_START, INTERVAL_END), target=target)
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    assert {name for name in ran if name in seeds} == {"scoring_rules", "icp_industries"}
    assert ran["scoring_rules"] == ran["icp_industries"] == "success"
    seed_only_tests = set(seed_state.tests_of_only(manifest, seeds))
    rebuilt_tests = set(seed_state.tests_of_only(manifest, ["scoring_rules", "icp_industries"]))
    assert rebuilt_tests and seed_only_tests - rebuilt_tests
    assert seed_only_tests & set(ran) == rebuilt_tests  # the rebuilt seeds' tests, no other seed's
    assert all(ran[name] == "pass" for name in rebuilt_tests)
    # every other data test ran (a test that reads a model and a seed too: the model was rebuilt)
    data_tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    assert data_tests - seed_only_tests <= set(ran)
    # every model was built, and the marts hold what they held
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert models <= set(ran)
    assert build.rows(*marts) == before
    assert build.one("select count(*) from staging.icp_industries")[0] > 0
    # the record is the project's again: the next daily build leaves every seed out
    assert seed_state.recorded(build.warehouse) == seed_state.fingerprints(DBT_PROJECT)
    assert seed_state.skip_args(current, build.warehouse, target / "manifest.json", full_refresh=False)[1:] == (
        *sorted(seeds),
        *seed_state.tests_of_only(manifest, seeds),
    )
