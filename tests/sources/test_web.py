"""GA4 BigQuery export (NDJSON) into web_events."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from tests.sources.helpers import assert_accounting, by_row, drop_dir, extract, quarantine_rows, raw_rows

EPOCH = datetime(1970, 1, 1)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // __import__("datetime").timedelta(microseconds=1)


def param(key: str, string=None, integer=None, double=None) -> dict:
    return {"key": key, "value": {"string_value": string, "int_value": integer, "double_value": double}}


def ga4_event(moment: datetime, name: str = "page_view", pseudo_id: str = "1234567890.1763683200", **overrides) -> dict:
    event = {
        "event_date": moment.strftime("%Y%m%d"),
        "event_timestamp": str(micros(moment)),  # BigQuery exports INT64 as strings
        "event_name": name,
        "event_params": [
            param("page_location", string="https://www.example.com/pricing?utm_source=baidu"),
            param("page_title", string="价格 - 示例科技"),
            param("page_referrer", string="https://www.baidu.com/"),
            param("ga_session_id", integer="1763683200"),
            param("engagement_time_msec", integer="65000"),
            param("client_id", string="1234567890.1763683200"),
        ],
        "user_pseudo_id": pseudo_id,
        "user_id": None,
        "traffic_source": {"name": "(organic)", "medium": "organic", "source": "baidu"},
        "collected_traffic_source": {
            "manual_source": "baidu",
            "manual_medium": "cpc",
            "manual_campaign_name": "brand_2026",
            "gclid": None,
        },  # fmt: skip
        "device": {"category": "desktop", "operating_system": "Windows"},
        "geo": {"country": "China", "city": "Shanghai"},
    }
    event.update(overrides)
    return event


def canonical_sha1(event: dict) -> str:
    return hashlib.sha1(
        json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def test_ga4_lines_flattened_and_bad_lines_quarantined(settings):
    moment = datetime(2026, 11, 21, 1, 2, 3, 456789)
    first = ga4_event(moment)
    second = ga4_event(moment, name="form_submit", pseudo_id="987.654", user_id="crm-42",
                       event_timestamp=micros(moment) + 5, platform="WEB",
                       event_params=[param("page_location", string="https://www.example.com/trial"),
                                     param("engagement_time_msec", integer=1200)])  # fmt: skip
    no_pseudo = ga4_event(moment)
    del no_pseudo["user_pseudo_id"]
    lines = [
        json.dumps(first, ensure_ascii=False),
        json.dumps(second),
        '{"event_name": "page_view", "event_timestamp": ',  # a line cut off mid-write
        json.dumps(no_pseudo),
        "",  # trailing blank line: not an event
        json.dumps(ga4_event(moment, event_timestamp="17636832001234567890123")),  # ns-scale garbage
    ]
    (drop_dir(settings, "web") / "ga4_events_000.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    manifest = extract("web", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["web_events"] == {"read": 5, "loaded": 2, "quarantined": 3}
    rows = by_row(raw_rows(settings, "web_events"), "ga4_events_000.jsonl")
    assert sorted(rows) == [1, 2]
    row = rows[1]
    assert row["event_at"] == moment  # µs kept
    assert rows[2]["event_at"] == datetime(2026, 11, 21, 1, 2, 3, 456794)
    assert row["event_date"] == date(2026, 11, 21)
    assert row["event_name"] == "page_view" and row["user_pseudo_id"] == "1234567890.1763683200"
    assert row["user_id"] is None and rows[2]["user_id"] == "crm-42"
    assert row["page_location"] == "https://www.example.com/pricing?utm_source=baidu"
    assert row["page_title"] == "价格 - 示例科技" and row["page_referrer"] == "https://www.baidu.com/"
    assert row["ga_session_id"] == 1763683200 and row["engagement_time_msec"] == 65000
    assert rows[2]["ga_session_id"] is None and rows[2]["engagement_time_msec"] == 1200
    assert (row["first_user_source"], row["first_user_medium"], row["first_user_campaign"]) == (
        "baidu", "organic", "(organic)",
    )  # fmt: skip
    assert (row["source"], row["medium"], row["campaign"], row["gclid"]) == ("baidu", "cpc", "brand_2026", None)
    assert (row["device_category"], row["country"], row["city"]) == ("desktop", "China", "Shanghai")
    assert json.loads(row["event_params"]) == first["event_params"]  # kept whole, client_id included
    assert row["extra"] is None and json.loads(rows[2]["extra"]) == {"platform": "WEB"}
    assert row["event_id"] == canonical_sha1(first) and rows[2]["event_id"] == canonical_sha1(second)

    quarantined = by_row(quarantine_rows(settings, "web_events"), "ga4_events_000.jsonl")
    assert sorted(quarantined) == [3, 4, 6]  # line numbers, the blank line 5 counted but not read
    assert quarantined[3]["reason"].startswith("malformed JSON line")
    assert quarantined[3]["raw_content"] == lines[2]
    assert "user_pseudo_id" in quarantined[4]["reason"]
    assert json.loads(quarantined[4]["raw_content"]) == no_pseudo
    assert quarantined[6]["reason"].startswith("invalid 'event_timestamp': "), quarantined[6]["reason"]


def test_event_id_is_deterministic(settings):
    moment = datetime(2026, 11, 21, 3, 0, 0)
    event = ga4_event(moment)
    reordered = json.dumps(dict(reversed(list(event.items()))), indent=None, separators=(", ", ": "))
    other = ga4_event(moment, name="scroll")
    folder = drop_dir(settings, "web")
    (folder / "a.jsonl").write_text(json.dumps(event) + "\n" + reordered + "\n" + json.dumps(other) + "\n")

    extract("web", settings)
    ids = [r["event_id"] for r in sorted(raw_rows(settings, "web_events"), key=lambda r: r["_row_number"])]
    extract("web", settings)
    ids_again = [r["event_id"] for r in sorted(raw_rows(settings, "web_events"), key=lambda r: r["_row_number"])]

    # Same event, other key order and spacing: same id. Another event: another id. Re-run: same ids.
    assert ids[0] == ids[1] != ids[2]
    assert ids == ids_again
    assert all(len(i) == 40 for i in ids)


def test_text_check_skipped_only_for_lines_that_cannot_hold_bad_text(settings):
    """The builder checks a web row's text values only when its line has a ``\\u`` escape or U+FFFD
    (sources/base.py, clean_text): every way bad text can arrive still quarantines its row."""
    moment = datetime(2026, 11, 21, 1, 2, 3)

    def titled(title: str, **overrides) -> dict:
        return ga4_event(moment, event_params=[param("page_title", string=title)], **overrides)

    lines = [
        json.dumps(titled("plain"), ensure_ascii=False),  # 1: no escape at all: loaded
        json.dumps(titled("lone \ud83d here")),  # 2: a lone surrogate escape
        json.dumps(titled("ok", geo={"city": "\ufffd"})),  # 3: U+FFFD as an escape
        json.dumps(titled("ok", geo={"city": "x"}), ensure_ascii=False).replace('"x"', '"上\ufffd海"'),  # 4: raw U+FFFD
        json.dumps(titled("smile \U0001f600")),  # 5: a surrogate pair escape: one valid character, loaded
        json.dumps(ga4_event(moment, event_params=[param("ga_session_id", integer=2**63)]), ensure_ascii=False),  # 6
        json.dumps(titled("C:\\users\\fffd"), ensure_ascii=False),  # 7: an escaped backslash before u: loaded as is
    ]
    text = "\n".join(lines) + "\n"
    assert "\\u" not in lines[0] and "\\u" not in lines[3] and "\\u" not in lines[5] and "\ufffd" in lines[3]
    (drop_dir(settings, "web") / "ga4_events_000.jsonl").write_text(text, encoding="utf-8", errors="surrogatepass")

    manifest = extract("web", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["web_events"] == {"read": 7, "loaded": 3, "quarantined": 4}
    rows = by_row(raw_rows(settings, "web_events"), "ga4_events_000.jsonl")
    assert sorted(rows) == [1, 5, 7]
    assert rows[1]["page_title"] == "plain" and rows[5]["page_title"] == "smile \U0001f600"
    assert rows[7]["page_title"] == "C:\\users\\fffd"
    quarantined = by_row(quarantine_rows(settings, "web_events"), "ga4_events_000.jsonl")
    reasons = {number: row["reason"] for number, row in quarantined.items()}
    assert sorted(reasons) == [2, 3, 4, 6]
    assert reasons[2].startswith("invalid text in 'page_title': lone surrogate '\\ud83d'"), reasons[2]
    assert reasons[3].startswith("garbled text in 'city': U+FFFD"), reasons[3]
    assert reasons[4].startswith("garbled text in 'city': U+FFFD"), reasons[4]
    assert reasons[6] == f"invalid event_params 'ga_session_id': integer out of range (64-bit): {2**63}", reasons[6]
