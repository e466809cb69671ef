"""Erased people named in the dbt seeds (privacy/seeds.py): the rows are found through the salted
suppression list (never a clear identifier), removed with every other row kept byte for byte, and
removed again before each build when they come back. Real files, no dbt (the build: the slow
tests/privacy/test_erase_seeds_build.py)."""

from __future__ import annotations

import shutil

import pytest
from intent_pipeline.privacy import seeds, suppression
from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

SALT = "seed-test-salt"
DECISIONS = (
    "decision_id,kind,identifier_a,identifier_b,author,reason,decided_on\r\n"
    "DS-1,must_link,email:Wang.Wei+news@Gmail.com,phone:+86 139 0000 1111,Li Na,one buyer,2026-11-23\r\n"
    'DS-2,cannot_link,email:zhao.lei@huatech.com,email:zhao.lei2@huatech.com,Li Na,"two colleagues",2026-11-23\r\n'
    ",detach,crm_lead:00Q5g00000AbCdE,,Wang Wei,\"the lead's phone is\nher assistant's\",2026-11-24\r\n"
    "DS-4,detach,phone:+8613800138000,,Wang Wei,the assistant,2026-11-24\r\n"
)
CONSENT = (
    "identifier,purpose,granted,recorded_at,recorded_by,reason\n"
    "email:zhao.lei@huatech.com,crm_sync,granted,2026-11-30 11:00:00,sales@example.com,paper consent\n"
    "phone:138-0013-8000,all,withdrawn,2026-11-30 10:00:00,dpo@example.com,asked by phone\n"
)


@pytest.fixture
def erased(tmp_path, monkeypatch):
    """An installation whose suppression list holds wangwei@gmail.com, +8613800138000 and the CRM lead
    00Q5g00000AbCdE (hashed, as erase writes them), and a copy of the seed folder with two seeds naming them."""
    for key in [k for k in __import__("os").environ if k.startswith("INTENT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("INTENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INTENT_PII_SALT", SALT)
    settings = Settings.from_env()
    hashes = suppression.hashes_of(
        [("email", "wangwei@gmail.com"), ("phone", "+8613800138000"), ("crm_lead", "00Q5g00000AbCdE")], SALT
    )
    suppression.add(suppression.list_path(settings), hashes, SALT)
    folder = tmp_path / "seeds"
    shutil.copytree(DBT_PROJECT_DIR / "seeds", folder)
    (folder / "identity_decisions.csv").write_bytes(DECISIONS.encode())
    (folder / "consent_records.csv").write_bytes(CONSENT.encode())
    return settings, folder


def test_a_graph_node_key_is_matched_by_its_kind_and_value():
    matcher = suppression.Suppression(frozenset(suppression.hashes_of([("crm_lead", "00Q5g00000AbCdE")], SALT)), SALT)
    assert matcher.matches_text("crm_lead:00Q5g00000AbCdE")
    assert matcher.matches_text(" CRM_LEAD : 00q5g00000abcde ")
    assert not matcher.matches_text("crm_lead:00Q5g00000AbCdF")
    assert not matcher.matches_text("00Q5g00000AbCdF")


def test_the_rows_naming_them_go_and_every_other_byte_stays(erased):
    settings, folder = erased
    untouched = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    removed = seeds.drop_erased_rows(settings, run_id="manual__1", directory=folder)
    # the Gmail address with dots and a +tag is the erased mailbox; the lead and the phone as typed
    assert removed == {"identity_decisions.csv": 3, "consent_records.csv": 1}
    assert (folder / "identity_decisions.csv").read_bytes() == (
        b"decision_id,kind,identifier_a,identifier_b,author,reason,decided_on\r\n"
        b'DS-2,cannot_link,email:zhao.lei@huatech.com,email:zhao.lei2@huatech.com,Li Na,"two colleagues",2026-11-23\r\n'
    )
    header, kept, _ = CONSENT.splitlines(keepends=True)
    assert (folder / "consent_records.csv").read_text() == header + kept
    # the identity blocklist names +8613800138000 as an example number: a rule, not the person, kept
    assert "+8613800138000" in (folder / "identity_blocklist.csv").read_text()
    for path in folder.glob("*.csv"):  # no other seed is touched
        if path.name not in removed:
            assert path.read_bytes() == untouched[path.name], path.name
    # counted and audited, without the identifier
    from intent_pipeline.privacy import audit

    records = [r for r in audit.read(settings.lake_dir) if r["event"] == "seed_erasure"]
    assert len(records) == 1 and records[0]["record_count"] == 4 and records[0]["run_id"] == "manual__1"
    assert "wang" not in str(records[0]).lower() and "13800138000" not in str(records[0])
    # the next build finds nothing left: idempotent, no second audit record
    assert seeds.drop_erased_rows(settings, directory=folder) == {}
    assert len([r for r in audit.read(settings.lake_dir) if r["event"] == "seed_erasure"]) == 1


def test_nobody_erased_touches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("INTENT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INTENT_SUPPRESSION_LIST", raising=False)
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "identity_decisions.csv").write_bytes(DECISIONS.encode())
    shutil.copy(DBT_PROJECT_DIR / "seeds" / "_identity_decisions.yml", folder)
    assert seeds.drop_erased_rows(Settings.from_env(), directory=folder) == {}
    assert (folder / "identity_decisions.csv").read_bytes() == DECISIONS.encode()


def test_a_seed_that_cannot_be_rewritten_stops_the_build(erased, monkeypatch):
    settings, folder = erased
    from intent_pipeline.privacy import landing

    def refuse(fs, path, data):
        raise PermissionError(13, "Read-only file system", path)

    monkeypatch.setattr(landing, "_write", refuse)  # a read-only checkout (root ignores chmod)
    with pytest.raises(seeds.SeedErasureError, match=r"identity_decisions.csv: 3 row\(s\).*Read-only"):
        seeds.drop_erased_rows(settings, directory=folder)
    assert (folder / "identity_decisions.csv").read_bytes() == DECISIONS.encode()  # nothing half-written


def test_another_salt_is_an_error_not_silence(erased, monkeypatch):
    settings, folder = erased
    monkeypatch.setenv("INTENT_PII_SALT", "another-salt")
    with pytest.raises(suppression.SuppressionError, match="another INTENT_PII_SALT"):
        seeds.drop_erased_rows(settings, directory=folder)
