"""Consent in the sources: GA4 consent mode's cookieless pings, the forms' consent box and the CRM's
email opt-out, through the real extractors, the real raw gate (GX) and the real generator."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pyarrow.parquet as pq
import pytest
from intent_pipeline.quality.validate import validate_raw
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source
from intent_pipeline.sources.normalize import BadValue
from intent_pipeline.sources.web.extract import _EventDates, parse_event
from intent_pipeline.synth import consent as synth_consent
from intent_pipeline.synth.generator import generate

DAY = date(2026, 11, 21)


def ga4_event(**values) -> dict:
    event = {
        "event_date": "20261121", "event_timestamp": "1795222800000000", "event_name": "page_view",
        "user_pseudo_id": "1234.5678",
        "event_params": [{"key": "page_location", "value": {"string_value": "https://www.example.com/pricing"}}],
        "collected_traffic_source": {"manual_source": "baidu", "manual_medium": "organic"},
    }  # fmt: skip
    event.update(values)
    return {k: v for k, v in event.items() if v is not None}


def test_a_cookieless_ping_is_kept_without_an_identity():
    ping = ga4_event(user_pseudo_id=None, privacy_info={"analytics_storage": "No", "ads_storage": "No"})
    row = parse_event(ping, _EventDates())
    assert row["user_pseudo_id"] is None and row["analytics_storage"] == "No"
    assert row["page_location"] == "https://www.example.com/pricing"
    assert row["extra"] is None  # privacy_info has its column, it is not "unknown"


def test_a_missing_user_pseudo_id_without_denied_consent_is_still_a_bad_row():
    for privacy_info in (None, {"analytics_storage": "Yes"}, {"ads_storage": "No"}):
        with pytest.raises(BadValue, match="user_pseudo_id"):
            parse_event(ga4_event(user_pseudo_id=None, privacy_info=privacy_info), _EventDates())


def test_consent_granted_events_record_it():
    row = parse_event(ga4_event(privacy_info={"analytics_storage": "yes"}), _EventDates())
    assert row["analytics_storage"] == "Yes" and row["user_pseudo_id"] == "1234.5678"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"INTENT_HOME": str(tmp_path)})


def test_pings_load_and_pass_the_raw_gate_while_a_bad_row_is_quarantined(settings):
    folder = settings.home / "data" / "landing" / "web" / f"dt={DAY}"
    folder.mkdir(parents=True)
    lines = [
        ga4_event(),
        ga4_event(user_pseudo_id=None, privacy_info={"analytics_storage": "No"}, event_timestamp="1795222800000001"),
        ga4_event(user_pseudo_id=None, privacy_info={"analytics_storage": "No"}, event_timestamp="1795222800000002"),
        ga4_event(user_pseudo_id=None, event_timestamp="1795222800000003"),  # no consent info: a bad row
    ]
    (folder / "ga4.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    manifest = extract_source("web", settings, DAY, "b1", datetime(2026, 11, 22, 1))
    assert manifest["tables"]["web_events"] == {"read": 4, "loaded": 3, "quarantined": 1}
    raw = pq.read_table(next((settings.lake_dir / "raw" / "web_events").glob("dt=*/*.parquet"))).to_pylist()
    assert sorted(str(r["analytics_storage"]) for r in raw) == ["No", "No", "None"]
    quarantine = pq.read_table(next((settings.lake_dir / "quarantine" / "web_events").glob("dt=*/*.parquet")))
    assert "user_pseudo_id" in quarantine.column("reason")[0].as_py()
    report = validate_raw(settings, DAY)
    web = [c for c in report["tables"]["web_events"]["results"] if c.get("column") == "user_pseudo_id"]
    assert web and all(c["success"] for c in web), web


def test_the_gate_still_fails_an_event_without_identity_that_is_no_ping(settings):
    """The raw gate's row condition exempts only consent-denied events from the identity check."""
    import pyarrow as pa
    from intent_pipeline import lake

    folder = settings.lake_dir / "raw" / "web_events" / f"dt={DAY}"
    folder.mkdir(parents=True)
    columns = lake.raw_columns("web_events")
    row = {name: None for name, _ in columns}
    row.update(event_id="a" * 40, event_name="page_view", event_at=datetime(2026, 11, 21, 8), event_date=DAY,
               _source_file="web/x.jsonl", _row_number=1, _loaded_at=datetime(2026, 11, 22), _batch_id="b",
               _interval_start=DAY, analytics_storage="Yes")  # fmt: skip
    pq.write_table(pa.Table.from_pylist([row], schema=lake.schema_for("raw", "web_events")), folder / "part-0.parquet")
    report = validate_raw(settings, DAY)
    web = [c for c in report["tables"]["web_events"]["results"] if c.get("column") == "user_pseudo_id"]
    assert web and not any(c["success"] for c in web)


def test_the_sample_carries_mixed_form_consent_and_crm_opt_outs(tmp_path):
    generate(tmp_path / "landing", tmp_path / "truth", people=120, history_days=30)
    forms = tmp_path / "landing" / "forms" / f"dt={DAY}"
    jinshuju = list(csv.DictReader((forms / next(p.name for p in forms.glob("jinshuju_*[0-9].csv"))).open(
        encoding="utf-8-sig")))  # fmt: skip
    typeform = list(csv.DictReader(next(forms.glob("typeform_*.csv")).open(encoding="utf-8")))
    assert {r["个人信息授权"] for r in jinshuju} == {"同意", ""}
    assert {r["Privacy Consent"] for r in typeform} == {"1", "0"}
    leads = list(csv.DictReader(next((tmp_path / "landing" / "crm" / f"dt={DAY}").glob("leads_*.csv")).open(
        encoding="utf-8")))  # fmt: skip
    assert {r["Email Opt Out"] for r in leads} <= {"0", "1"}
    # the extract reads them into the raw lake
    settings = Settings.from_env({"INTENT_HOME": str(tmp_path), "INTENT_LANDING_URL": str(tmp_path / "landing")})
    extract_source("forms", settings, DAY, "b1", datetime(2026, 11, 22, 1))
    extract_source("crm", settings, DAY, "b1", datetime(2026, 11, 22, 1))
    consent = [r["consent"] for r in pq.read_table(
        next((settings.lake_dir / "raw" / "forms_submissions").glob("dt=*/*.parquet"))).to_pylist()]  # fmt: skip
    assert "同意" in consent and "1" in consent and "0" in consent
    opt_outs = [r["email_opt_out"] for r in pq.read_table(
        next((settings.lake_dir / "raw" / "crm_leads").glob("dt=*/*.parquet"))).to_pylist()]  # fmt: skip
    assert set(opt_outs) <= {"0", "1"} and "0" in opt_outs


def test_the_consent_mix_is_stable_and_mixed():
    keys = [f"person-{i}" for i in range(4000)]
    always = sum(all(synth_consent.ticks(k, t) for t in (1, 2, 3, 4)) for k in keys) / len(keys)
    never = sum(not any(synth_consent.ticks(k, t) for t in (1, 2, 3, 4)) for k in keys) / len(keys)
    assert 0.67 < always < 0.74 and 0.18 < never < 0.23  # 70% always, 20% never, 10% now and then
    assert [synth_consent.form_consent(k, 5, "jinshuju_gbk") for k in keys[:50]] == [
        synth_consent.form_consent(k, 5, "jinshuju") for k in keys[:50]]  # fmt: skip
    opt_out = sum(synth_consent.crm_email_opt_out(k) == "1" for k in keys) / len(keys)
    assert 0.04 < opt_out < 0.08
