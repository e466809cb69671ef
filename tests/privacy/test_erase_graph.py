"""Erasure through the identity graph on a real build (slow): a generated sample extracted, built by
dbt, published and activated against the HubSpot, Salesforce and CRM-webhook fakes over HTTP; one
person erased by phone alone; then every interval run again from the unchanged landing drops."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import ExitStack
from datetime import date
from types import SimpleNamespace

import duckdb
import pytest
from intent_pipeline import dbt_fork
from intent_pipeline.privacy import audit, residual
from intent_pipeline.privacy import erase as erasure
from intent_pipeline.settings import Settings

from tests.airflow_home import seed_dbt_parse
from tests.benches import load_bench
from tests.shared import shared_folder

pytestmark = pytest.mark.slow
DAY = date(2026, 11, 21)
SALT = "graph-test-salt"


def _candidate(settings: Settings) -> tuple[str, str, str]:
    """(person_id, email, phone) of a person all three CRMs hold, with a phone and a web identifier."""
    ledger = sqlite3.connect(settings.ledger_path)
    held = {k for (k,) in ledger.execute("select record_key from activation_ledger where destination like 'hubspot@%'")}
    ledger.close()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        people = con.execute(
            "select person_id, email, phone from marts.people where phone is not null "
            "and identifiers like '%web:%' order by identifier_count desc, person_id"
        ).fetchall()
    finally:
        con.close()
    return next(p for p in people if p[1] in held)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("erase-graph")
    with pytest.MonkeyPatch.context() as patch, ExitStack() as stack:
        # none of the caller's settings, but the test run's dbt fork server (the builds fork from it)
        for key in os.environ.keys() - dbt_fork.without_settings(os.environ, ("INTENT_", "AIRFLOW_CONN_")).keys():
            patch.delenv(key)
        patch.setenv("INTENT_HOME", str(home))
        patch.setenv("INTENT_ON_BAD_FILE", "quarantine")
        patch.setenv("INTENT_PII_SALT", SALT)
        bench = load_bench("privacy")
        destinations = bench.start_fakes(stack)
        bench.synth(home, 200, 1, 7)
        seed_dbt_parse(shared_folder(tmp_path_factory), home)  # the test run's parse (tests/airflow_home.py)
        bench.run_interval(DAY, destinations)
        settings = Settings.from_env()
        person_id, email, phone = _candidate(settings)
        request = [erasure.ErasureRequest("phone", phone, "GDPR art. 17 request #7")]
        linked = erasure.resolve(settings.warehouse, request)
        erasure.scan_lake(settings, linked, erasure._matcher(linked, SALT))
        values = linked.search_values()
        data = home / "data"
        before = residual.search([data], values, exclude=("landing", "ground_truth"))
        report = erasure.erase(settings, request, destinations=[destinations["hubspot"],
                                                                *(c for _, c in destinations["more"])])  # fmt: skip
        after = residual.search([data], values, exclude=("landing", "ground_truth"))
        servers = destinations["servers"]
        at_vendors = {
            "hubspot": email in servers["hubspot"].contacts,
            "salesforce": person_id in servers["salesforce"].records,
            "crm_webhook": person_id in servers["crm_webhook"].records,
        }
        rerun = bench.run_interval(DAY, destinations)
        resurrected = residual.search([data], values, exclude=("landing", "ground_truth"))
        yield SimpleNamespace(
            settings=settings, person_id=person_id, email=email, phone=phone, linked=linked, values=values,
            before=before, report=report, after=after, servers=servers, at_vendors=at_vendors, rerun=rerun,
            resurrected=resurrected,
        )  # fmt: skip


def test_a_phone_reaches_the_whole_person(world):
    kinds = {kind for kind, _ in world.linked.identifiers}
    assert {"email", "phone", "web"} <= kinds
    assert ("email", world.email) in world.linked.identifiers and world.person_id in world.linked.person_ids
    assert world.before  # the search finds the person before the erasure


def test_nothing_is_left_under_the_data_folder(world):
    assert world.after == {}
    assert world.report["lake_rows_removed"] > 0 and world.report["rebuild_seconds"] > 0


def test_every_crm_holding_them_deleted_them(world):
    assert world.report["destinations_deleted"] == 3 and world.report["destination_deletes_pending"] == 0
    assert world.at_vendors == {"hubspot": False, "salesforce": False, "crm_webhook": False}
    assert world.email in world.servers["hubspot"].gdpr_deleted
    assert world.servers["salesforce"].deleted == [world.person_id]
    assert world.servers["crm_webhook"].forgotten == [world.person_id]


def test_a_rerun_of_the_interval_does_not_bring_them_back(world):
    assert world.resurrected == {}
    suppressed = 0
    for manifest in world.rerun["manifests"].values():
        for counts in [*manifest["tables"].values(), *manifest["files"]]:
            assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts.get("suppressed", 0)
        suppressed += sum(c.get("suppressed", 0) for c in manifest["tables"].values())
    # erasure rewrote the landing drops too: the re-run reads none of their records, so nothing is
    # left to suppress (tests/privacy/test_erase_suppression.py re-exports a file that still holds them)
    assert suppressed == 0
    assert world.report["landing_records_removed"] >= world.report["lake_rows_removed"] > 0
    assert world.email not in world.servers["hubspot"].contacts
    assert world.person_id not in world.servers["salesforce"].records


def test_the_marts_and_the_serving_copy_no_longer_hold_them(world):
    from intent_pipeline.serving import serving_database

    for path in (world.settings.warehouse, serving_database(world.settings)):
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert (
                con.execute("select count(*) from marts.people where person_id = ?", [world.person_id]).fetchone()[0]
                == 0
            )
        finally:
            con.close()
    con = duckdb.connect(str(world.settings.warehouse), read_only=True)
    try:
        nodes = [f"{k}:{v}" for k, v in world.linked.identifiers]
        left = con.execute(
            "select count(*) from intermediate.int_identity_person_ids where node_key in (select unnest(?::varchar[]))",
            [nodes],
        ).fetchone()[0]
        assert left == 0  # the incremental id table would otherwise keep them for ever
    finally:
        con.close()


def test_the_request_is_recorded_without_identifiers(world):
    records = [r for r in audit.read(world.settings.lake_dir) if r["event"] == "erasure"]
    assert len(records) == 1 and records[0]["record_count"] == 1
    text = json.dumps(records, default=str).lower()
    assert not any(value in text for value in world.values)
