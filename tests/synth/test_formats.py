"""The landing files are exactly in the formats of docs/contracts.md ("Landing layout")."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from tests.synth import helpers as h
from tests.synth.conftest import INTERVAL

DT = f"dt={INTERVAL.isoformat()}"


def test_one_full_history_drop_per_source_in_the_contract_layout(workload):
    for source, pattern in (("forms", "*"), ("email", "*.json"), ("web", "*.jsonl"), ("crm", "*.csv")):
        assert [p.name for p in h.drop_dirs(workload.landing, source)] == [DT], source
        assert list((workload.landing / source / DT).glob(pattern)), source
    names = {p.name for p in (workload.landing / "crm" / DT).iterdir()}
    assert {n.split("_")[0] for n in names} == {"leads", "opportunities", "orders", "activities"}
    forms = {p.suffix for p in (workload.landing / "forms" / DT).iterdir()}
    assert forms == {".csv", ".xlsx"}


def test_jinshuju_exports_one_utf8_bom_and_one_gbk_file_with_chinese_headers(workload):
    csvs = sorted((workload.landing / "forms" / DT).glob("jinshuju*.csv"))
    assert len(csvs) == 2
    encodings = {}
    for path in csvs:
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            encodings["bom"] = path
            header, rows = h.read_csv(path, "utf-8-sig")
        else:
            with pytest.raises(UnicodeDecodeError):  # really GBK, not UTF-8 without BOM
                raw.decode("utf-8")
            encodings["gbk"] = path
            header, rows = h.read_csv(path, "gbk")
        assert header == h.JINSHUJU
        assert rows, path
        assert any(re.search(r"[\u4e00-\u9fff]", r[2]) for r in rows), "expected Chinese names"
    assert set(encodings) == {"bom", "gbk"}


def test_typeform_and_crm_headers_are_exact(workload):
    header, rows = h.read_csv(next((workload.landing / "forms" / DT).glob("typeform*.csv")), "utf-8")
    assert header == h.TYPEFORM and rows
    assert all(r[9].endswith(("Z", "+08:00")) for r in rows)
    for stem, expected in (
        ("leads", h.LEADS),
        ("opportunities", h.OPPORTUNITIES),
        ("orders", h.ORDERS),
        ("activities", h.ACTIVITIES),
    ):
        header, rows = h.read_csv(next((workload.landing / "crm" / DT).glob(f"{stem}*.csv")), "utf-8")
        assert header == expected and rows, stem


def test_hubspot_xlsx_first_sheet_has_header_and_excel_datetimes(workload):
    import openpyxl

    path = next((workload.landing / "forms" / DT).glob("*.xlsx"))
    rows = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == h.HUBSPOT
    dates = [r[10] for r in rows[1:]]
    assert any(isinstance(d, datetime) for d in dates)
    assert any(isinstance(d, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", d) for d in dates)


def test_form_values_look_like_the_vendors_exports(workload):
    rows = h.form_rows(workload.landing)
    phones = [r["phone"] for r in rows if r["phone"]]
    assert any(re.fullmatch(r"\+86 1\d\d \d{4} \d{4}", p) for p in phones)
    assert any(re.fullmatch(r"1\d{10}", p) for p in phones)
    assert any(re.fullmatch(r"1\d\d-\d{4}-\d{4}", p) for p in phones)
    emails = [r["email"] for r in rows if r["email"]]
    assert any(e != e.strip() for e in emails), "some emails carry spaces"
    assert any(e.strip() != e.strip().lower() for e in emails), "some emails carry capitals"
    assert any(r["client_id"] and re.fullmatch(r"\d{9,10}\.\d{10}", r["client_id"]) for r in rows)
    assert any(not r["client_id"] for r in rows)
    names = Counter(r["form"] for r in rows)
    for name in (
        "免费试用申请",
        "Free Trial",
        "预约演示",
        "Book a Demo",
        "白皮书下载：制造业数字化",
        "Whitepaper: Retail AI",
    ):
        assert names[name] > 0, name


def test_sendgrid_bodies_are_json_arrays_with_duplicate_deliveries(workload):
    events = h.email_events(workload.landing)
    per_file = Counter(f for f, _, _ in events)
    assert len(per_file) >= 2 and max(per_file.values()) <= 1000
    by_id = defaultdict(list)
    for f, _, e in events:
        if "sg_event_id" in e:
            by_id[e["sg_event_id"]].append((f, e))
    duplicates = {k: v for k, v in by_id.items() if len(v) > 1}
    assert duplicates
    assert all(len(v) == 2 and v[0][1] == v[1][1] for v in duplicates.values()), "a duplicate is the identical event"
    assert any(v[0][0] != v[1][0] for v in duplicates.values()), "some duplicates arrive in another POST body"
    assert 0.005 < len(duplicates) / len(by_id) < 0.05
    kinds = Counter(e["event"] for _, _, e in events)
    for kind in ("processed", "delivered", "open", "click", "bounce", "dropped", "unsubscribe", "deferred"):
        assert kinds[kind] > 0, kind
    for _, _, e in events:
        if e["event"] not in h.SENDGRID_EVENTS or "sg_event_id" not in e:
            continue  # the planted bad events, checked in test_truth
        assert isinstance(e["timestamp"], int) and e["email"] and e["sg_message_id"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", e["sg_event_id"])
        assert e["category"] and e["marketing_campaign_id"]
        if e["event"] == "click":
            assert e["url"].startswith("https://www.example-saas.com/") and "utm_medium=email" in e["url"]
        if e["event"] in ("open", "click"):
            assert e["useragent"] and e["ip"]
        if e["event"] == "bounce":
            assert e["reason"] and e["status"] and e["type"] in ("bounce", "blocked")


def test_ga4_lines_carry_the_contract_fields(workload):
    start = datetime(2026, 5, 25)  # INTERVAL - 180 days
    end = datetime(2026, 11, 22)
    sessions = defaultdict(list)
    good = [e for _, _, e, _ in h.web_lines(workload.landing) if e and "user_pseudo_id" in e]
    assert len(good) > 1000
    for e in good:
        at = datetime.fromtimestamp(int(e["event_timestamp"]) / 1e6, UTC).replace(tzinfo=None)
        assert start <= at < end
        assert e["event_date"] == at.strftime("%Y%m%d")
        assert re.fullmatch(r"\d{9,10}\.\d{10}", e["user_pseudo_id"])
        assert {"user_id", "traffic_source", "collected_traffic_source", "device", "geo"} <= e.keys()
        assert set(e["traffic_source"]) == {"name", "medium", "source"}
        assert e["device"]["category"] in ("desktop", "mobile", "tablet") and e["geo"]["country"]
        p = h.params(e)
        assert p["page_location"].startswith("https://www.example-saas.com/")
        assert isinstance(p["ga_session_id"], int)
        if e["event_name"] == "user_engagement":
            assert isinstance(p["engagement_time_msec"], int)
        sessions[(e["user_pseudo_id"], p["ga_session_id"])].append(e)
    names = Counter(e["event_name"] for e in good)
    for name in ("page_view", "session_start", "user_engagement", "scroll", "form_submit", "file_download"):
        assert names[name] > 0, name
    # One session_start per session: ga_session_id is consistent within a visit.
    assert all(sum(e["event_name"] == "session_start" for e in evs) == 1 for evs in sessions.values())
    collected = [e["collected_traffic_source"] for e in good if e["collected_traffic_source"]]
    assert any(c["gclid"] for c in collected if c["manual_medium"] == "cpc")
    assert {c["manual_source"] for c in collected} >= {"google", "baidu", "wechat", "linkedin", "newsletter"}
    paths = {h.params(e)["page_location"].split("?")[0].removeprefix("https://www.example-saas.com") for e in good}
    assert {"/pricing", "/product", "/careers"} <= paths
    assert any(p.startswith("/blog/") for p in paths) and any(p.startswith("/case-studies/") for p in paths)
    assert any(e["user_id"] for e in good), "some visitors are logged in"


def test_sendgrid_body_is_one_json_document(workload):
    path = next((workload.landing / "email" / DT).glob("*.json"))
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), list)
