"""An erased person stays erased across seed reloads, rebuilds and a re-import of an old export
(slow: real extracts, real `dbt build`s on a DuckDB file, the real erase).

A generated sample is extracted and built with a copy of the dbt project whose seeds name one
person (an identity decision linking her address to a second phone, a consent record). She is
picked in the raw lake, before any build (the address most raw tables hold), so the first build is
the one that loads the seeds. She is erased by email. Then, as happens in a real installation, the
seed rows come back (a merge of an old branch writes the CSVs as they were) and the source exports
her records again (the original landing drop copied back over the rewritten one), and the interval
is run again: extract and the pipeline's build. Nothing of her may come back: not in the lake, the
warehouse, the serving copy, the seed files, nor as a person.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from types import SimpleNamespace

import duckdb
import pytest
from intent_pipeline import dbt_fork, seed_state
from intent_pipeline.privacy import audit, residual
from intent_pipeline.privacy import erase as erasure
from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

from tests.airflow_home import seed_dbt_parse
from tests.benches import load_bench
from tests.shared import shared_folder

pytestmark = pytest.mark.slow
DAY = date(2026, 11, 21)
SALT = "seed-build-test-salt"
# her second phone, known only from the steward's decision: no record holds it, so it is no node of
# the graph and the erasure does not list it; it goes with the decision row, which names her email
EXTRA_PHONE = "+8613900001111"


def _two_addresses(lake) -> list[str]:
    """The two addresses (not Gmail's, whose canonical form differs) held by the most raw tables of
    the extracted lake, then by the most rows: people the sources know well, as the graph keys them."""
    from intent_pipeline.identity import canonical_email

    tables = [path for path in sorted((lake / "raw").iterdir()) if "email" in duckdb.sql(
        f"describe select * from read_parquet('{path}/dt=*/*.parquet')").fetchnumpy()["column_name"]]  # fmt: skip
    union = " union all ".join(
        f"select '{path.name}' as source_table, email from read_parquet('{path}/dt=*/*.parquet')" for path in tables
    )
    counted = duckdb.sql(
        f"select email, count(distinct source_table) as held_by, count(*) as rows_ from ({union})"
        " where email is not null and email <> '' and email not like '%@gmail.com'"
        " group by email order by held_by desc, rows_ desc, email limit 2"
    ).fetchall()
    return [canonical_email(email) for email, _, _ in counted]


def _person_of(warehouse, email: str) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = con.execute(
            "select distinct person_id from intermediate.int_identity_person_ids where node_key = ?", [f"email:{email}"]
        ).fetchall()
    finally:
        con.close()
    assert len(found) == 1, f"email:{email} is no node of the identity graph (or of several people): {found}"
    return found[0][0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from intent_pipeline import pipeline
    from intent_pipeline import settings as settings_module

    home = tmp_path_factory.mktemp("erase-seeds-build")
    project = home / "dbt_project"  # the seeds are edited: never the repository's own
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    with pytest.MonkeyPatch.context() as patch:
        # none of the caller's settings, but the test run's dbt fork server (the builds fork from it)
        for key in os.environ.keys() - dbt_fork.without_settings(os.environ, ("INTENT_", "AIRFLOW_CONN_")).keys():
            patch.delenv(key)
        patch.setenv("INTENT_HOME", str(home))
        patch.setenv("INTENT_ON_BAD_FILE", "quarantine")
        patch.setenv("INTENT_PII_SALT", SALT)
        patch.setattr(settings_module, "DBT_PROJECT_DIR", project)
        patch.setattr(pipeline, "DBT_PROJECT_DIR", project)
        bench = load_bench("privacy")
        bench.synth(home, 150, 1, 11)
        # the test run's parse of the project (tests/airflow_home.py): the copy's build re-parses
        # only what differs (its seeds, the files that read this home's lake and interval)
        seed_dbt_parse(shared_folder(tmp_path_factory), home)
        landing = home / "data" / "landing"
        export = home / "export-again"  # the source's export as it was: it will be dropped again
        shutil.copytree(landing, export)
        extracted = bench.extract_interval(DAY)
        settings = Settings.from_env()
        her_email, other_email = _two_addresses(settings.lake_dir)
        seeds = project / "seeds"
        decisions = (
            "decision_id,kind,identifier_a,identifier_b,author,reason,decided_on\n"
            f"DS-7,must_link,email:{her_email.upper()},phone:{EXTRA_PHONE},Li Na,her second phone,2026-11-20\n"
            f"DS-8,detach,email:{other_email},,Li Na,a shared address,2026-11-20\n"
        )
        consent = (
            "identifier,purpose,granted,recorded_at,recorded_by,reason\n"
            f"email:{her_email},crm_sync,granted,2026-11-20 10:00:00,sales@example.com,signed at the fair\n"
            f"email:{other_email},crm_sync,granted,2026-11-20 10:00:00,sales@example.com,signed at the fair\n"
        )
        (seeds / "identity_decisions.csv").write_text(decisions, encoding="utf-8")
        (seeds / "consent_records.csv").write_text(consent, encoding="utf-8")
        # the first build: the seeds loaded, the decisions and consent applied
        bench.run_interval(DAY, {}, activate=False, extracted=extracted)
        her_id, other_id = _person_of(settings.warehouse, her_email), _person_of(settings.warehouse, other_email)
        assert her_id != other_id, (her_email, other_email)
        request = [erasure.ErasureRequest("email", her_email, "GDPR art. 17 request #11")]
        linked = erasure.resolve(settings.warehouse, request)
        values = linked.search_values() | {EXTRA_PHONE}
        # every seed as the first build loaded and recorded it (pipeline.duckdb_build)
        unchanged_before_erase = seed_state.unchanged(seed_state.fingerprints(project), settings.warehouse)
        report = erasure.erase(settings, request)
        names = ("identity_decisions.csv", "consent_records.csv")
        seeds_after_erase = {name: (seeds / name).read_text(encoding="utf-8") for name in names}
        # the erasure's rebuild is the DAG's (pipeline.duckdb_build): the seed files it rewrote were
        # loaded again and recorded, the others left out as unchanged
        current = seed_state.fingerprints(project)
        stale_after_erase = sorted(set(current) - set(seed_state.unchanged(current, settings.warehouse)))
        # the seed rows come back and the source exports her records again
        (seeds / "identity_decisions.csv").write_text(decisions, encoding="utf-8")
        (seeds / "consent_records.csv").write_text(consent, encoding="utf-8")
        shutil.rmtree(landing)
        shutil.copytree(export, landing)
        rerun = bench.run_interval(DAY, {}, activate=False)
        data = home / "data"
        left = residual.search([data, seeds], values, exclude=("landing", "ground_truth"))
        yield SimpleNamespace(
            settings=settings, seeds=seeds, her_id=her_id, her_email=her_email, other_id=other_id,
            other_email=other_email, linked=linked, report=report, seeds_after_erase=seeds_after_erase,
            rerun=rerun, left=left, stale_after_erase=stale_after_erase, seeds_total=len(current),
            unchanged_before_erase=unchanged_before_erase,
        )  # fmt: skip


def test_erase_found_her_and_only_her(world):
    assert ("email", world.her_email) in world.linked.identifiers
    assert world.her_id in world.linked.person_ids and world.other_id not in world.linked.person_ids


def test_erase_removed_her_seed_rows_and_kept_the_others(world):
    found = {os.path.basename(f["path"]): f["records"] for f in world.report["seed_files"]}
    assert found == {"identity_decisions.csv": 1, "consent_records.csv": 1}
    assert world.report["seed_records_removed"] == 2 and world.report["seed_errors"] == []
    assert world.report["rebuild_seconds"] > 0
    # the rebuild recorded the seeds it loaded: the two rewritten files are no longer stale
    assert len(world.unchanged_before_erase) == world.seeds_total > 0
    assert world.stale_after_erase == []  # not ["consent_records", "identity_decisions"]
    for text in world.seeds_after_erase.values():
        assert world.her_email not in text.lower() and EXTRA_PHONE not in text
        assert world.other_email in text


def test_nothing_of_her_comes_back_after_the_seeds_and_the_export_return(world):
    assert world.left == {}  # lake, warehouse, serving copy, reports, logs, and the seed files
    suppressed = 0
    for manifest in world.rerun["manifests"].values():
        for counts in manifest["tables"].values():
            assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts.get("suppressed", 0)
            suppressed += counts.get("suppressed", 0)
    assert suppressed > 0  # her re-exported records were read and dropped at extract, and counted
    records = [r for r in audit.read(world.settings.lake_dir) if r["event"] == "seed_erasure"]
    assert len(records) == 1 and records[0]["record_count"] == 2


def test_she_is_no_person_and_the_others_decisions_still_apply(world):
    con = duckdb.connect(str(world.settings.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.people where person_id = ?", [world.her_id]).fetchone()[0] == 0
        nodes = con.execute(
            "select count(*) from intermediate.int_identity_person_ids where node_key in (?, ?)",
            [f"email:{world.her_email}", f"phone:{EXTRA_PHONE}"],
        ).fetchone()[0]
        assert nodes == 0
        kept = con.execute("select count(*) from intermediate.int_identity_decisions").fetchone()[0]
        assert kept == 1  # the other person's detach decision is still loaded and applied
        assert con.execute("select count(*) from staging.consent_records").fetchone()[0] == 1
    finally:
        con.close()
