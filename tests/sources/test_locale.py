"""Numbers and dates as each source writes them (issue 14, item 4), through the real CRM and forms extract."""

from __future__ import annotations

from datetime import datetime

import pytest
from intent_pipeline.sources.locale import FileLocale, SourceLocale, amount
from intent_pipeline.sources.normalize import BadValue

from tests.sources.helpers import assert_accounting, csv_bytes, drop_dir, extract, quarantine_rows, raw_rows
from tests.sources.hostile import LEADS, OPPORTUNITIES, TYPEFORM, leads_rows, opportunity_rows, typeform_rows


def _opportunities(settings, amounts: list[str], name: str = "opportunities_export.csv") -> dict[str, float]:
    rows = [row[:4] + [value] + row[5:] for row, value in zip(opportunity_rows(len(amounts)), amounts, strict=True)]
    (drop_dir(settings, "crm") / name).write_bytes(csv_bytes(OPPORTUNITIES, rows))
    manifest = extract("crm", settings)
    assert_accounting(manifest)
    return {row["opportunity_id"]: row["amount"] for row in raw_rows(settings, "crm_opportunities")}


def test_decimal_comma_exports_load_their_real_amounts(settings):
    # were 1.2345, 15.0 and 1234567.0
    loaded = _opportunities(settings, ["1.234,50", "1,5", "12 345,67", "1,234"])
    # 1,234 is a thousands group in a comma-decimal file only if nothing says otherwise: here 1,5 says comma
    assert loaded == {"006000": 1234.5, "006001": 1.5, "006002": 12345.67, "006003": 1.234}


def test_decimal_point_exports_and_chinese_units(settings):
    loaded = _opportunities(settings, ["12,500.00", "1,234", "12.5万", "¥ 3,000"])
    assert loaded == {"006000": 12500.0, "006001": 1234.0, "006002": 125000.0, "006003": 3000.0}


def test_refunds_are_negative_amounts_not_rejections(settings):
    loaded = _opportunities(settings, ["-250.00", "(250.00)", "\u2212250,00"])
    assert loaded == {"006000": -250.0, "006001": -250.0, "006002": -250.0}
    assert quarantine_rows(settings, "crm_opportunities") == []


def test_the_decimal_separator_can_be_configured(settings, monkeypatch):
    monkeypatch.setenv("INTENT_CRM_DECIMAL", ",")
    assert _opportunities(settings, ["1.234", "2.000"]) == {"006000": 1234.0, "006001": 2000.0}


def _leads(settings, created: list[str]) -> dict:
    rows = [row[:12] + [value, ""] for row, value in zip(leads_rows(len(created)), created, strict=True)]
    (drop_dir(settings, "crm") / "leads_export.csv").write_bytes(csv_bytes(LEADS, rows))
    manifest = extract("crm", settings)
    assert_accounting(manifest)
    return manifest


def test_a_us_date_export_is_detected_from_its_own_dates(settings):
    # used to quarantine 1,119 of 1,119 rows with a passing gate
    manifest = _leads(settings, ["11/21/2026 8:00 AM", "11/20/2026 11:30 PM", "11/3/2026"])
    assert manifest["tables"]["crm_leads"] == {"read": 3, "loaded": 3, "quarantined": 0}
    created = sorted(row["created_at"] for row in raw_rows(settings, "crm_leads"))
    # naive UTC from Asia/Shanghai wall-clock time
    assert created == [datetime(2026, 11, 2, 16, 0), datetime(2026, 11, 20, 15, 30), datetime(2026, 11, 21, 0, 0)]


def test_day_first_dates_and_dotted_dates(settings):
    _leads(settings, ["21/11/2026 08:00", "3/11/2026", "21.11.2026 08:00"])
    created = sorted(row["created_at"] for row in raw_rows(settings, "crm_leads"))
    assert created == [datetime(2026, 11, 3, 0, 0) - (datetime(2026, 1, 1, 8) - datetime(2026, 1, 1)),
                       datetime(2026, 11, 21, 0, 0), datetime(2026, 11, 21, 0, 0)]  # fmt: skip


def test_dates_nothing_can_order_are_quarantined_with_the_setting_to_use_then_load_when_configured(
    settings, monkeypatch
):
    manifest = _leads(settings, ["11/10/2026", "3/4/2026"])
    assert manifest["tables"]["crm_leads"]["quarantined"] == 2
    assert all("INTENT_<SOURCE>_DATE_ORDER" in row["reason"] for row in quarantine_rows(settings, "crm_leads"))

    monkeypatch.setenv("INTENT_CRM_DATE_ORDER", "MDY")
    manifest = _leads(settings, ["11/10/2026", "3/4/2026"])
    assert manifest["tables"]["crm_leads"] == {"read": 2, "loaded": 2, "quarantined": 0}
    assert sorted(row["created_at"].date().isoformat() for row in raw_rows(settings, "crm_leads")) == [
        "2026-03-03", "2026-11-09"]  # fmt: skip


def test_a_us_date_forms_export(settings):
    rows = [row[:9] + ["11/21/2026 8:00 AM"] + row[10:] for row in typeform_rows(2)]
    (drop_dir(settings, "forms") / "typeform.csv").write_bytes(csv_bytes(TYPEFORM, rows))
    manifest = extract("forms", settings)
    assert manifest["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0}


@pytest.mark.parametrize("value", ["1,2,3", "abc", "1.2.3,4,5", "--5", "1e400"])
def test_what_no_convention_reads_is_refused(value):
    with pytest.raises(BadValue, match="not a number"):
        amount(value, FileLocale())


def test_settings_are_checked():
    assert SourceLocale.from_env("crm", {"INTENT_CRM_DECIMAL": ",", "INTENT_CRM_DATE_ORDER": "dmy"}) == SourceLocale(
        ",", "DMY"
    )
    with pytest.raises(ValueError, match="INTENT_CRM_DECIMAL"):
        SourceLocale.from_env("crm", {"INTENT_CRM_DECIMAL": ";"})
    with pytest.raises(ValueError, match="INTENT_FORMS_DATE_ORDER"):
        SourceLocale.from_env("forms", {"INTENT_FORMS_DATE_ORDER": "YDM"})
