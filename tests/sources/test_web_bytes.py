"""The web extract's output, byte for byte, on a hostile GA4 export: frozen from main's code.

``hostile_lines()`` writes every messy case the extract's JSON handling meets (key order, spacing, escapes,
non-BMP characters, lone surrogates, NaN/Infinity, huge integers, -0.0, duplicate keys, param dicts in and
out of key order, nesting near the encoder's limit) plus rows that must be quarantined. The expectation in
``data/web_hostile_expected.json`` (lake rows, quarantine rows with their reasons, the manifest) was written
by the extract of main at commit 4838cf7, before webjson changed the per-row JSON work (its ``plugins/`` from
``git archive 4838cf7 plugins``):

    PYTHONPATH=<main's plugins>:. python -m tests.sources.test_web_bytes --write

Any change of a row's ``event_id`` (the hash of the canonical JSON text), ``event_params`` or ``extra`` text,
a quarantine reason or a count fails this test: a re-run over events stored by the old code would duplicate
them.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

EXPECTED = Path(__file__).parent / "data" / "web_hostile_expected.json"
TS = '"event_timestamp":"1795226400000000"'  # 2026-11-21 02:00:00 UTC


def _event(**overrides) -> dict:
    event = {
        "event_date": "20261121",
        "event_timestamp": "1795226400000000",
        "event_name": "page_view",
        "event_params": [
            {"key": "page_location", "value": {"string_value": "https://www.example.com/p?a=1", "int_value": None,
                                               "float_value": None, "double_value": None}},
            {"key": "page_title", "value": {"string_value": "价格 - 示例", "int_value": None, "float_value": None,
                                            "double_value": None}},
            {"key": "ga_session_id", "value": {"string_value": None, "int_value": "1795226400", "float_value": None,
                                               "double_value": None}},
        ],
        "user_pseudo_id": "111.222",
        "user_id": None,
        "traffic_source": {"name": "(organic)", "medium": "organic", "source": "baidu"},
        "collected_traffic_source": {"manual_source": "baidu", "manual_medium": "cpc",
                                     "manual_campaign_name": "brand", "gclid": None},
        "device": {"category": "desktop", "web_info": {"browser": "Chrome"}},
        "geo": {"country": "China", "city": "Shanghai"},
        "platform": "WEB",
    }  # fmt: skip
    event.update(overrides)
    return event


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _param(key, **value) -> dict:
    return {"key": key, "value": value}


def hostile_lines() -> list[bytes]:
    """The hostile file, one ``bytes`` per line (without its line end)."""
    e = _event
    text = [
        _compact(e()),  # GA4's four value keys, out of key order
        json.dumps(e(), ensure_ascii=True),  # the same event, spaced and \\u-escaped: same event_id
        _compact(dict(reversed(list(e().items())))),  # the same event, keys reversed: same event_id
        _compact(
            e(
                event_params=[
                    _param("page_location", string_value="https://x.example/a"),
                    _param("ga_session_id", int_value=7),
                ]
            )
        ),  # one value key each: in key order
        _compact(e(event_params=[{"value": {"string_value": "t"}, "key": "page_title"}])),  # param keys reversed
        _compact(
            e(
                event_params=[_param("page_title", string_value="😀 𝄞 emoji and clef, 中文")],
                user_properties=[{"key": "𝒳", "value": {"string_value": "non-BMP key"}}],
            )
        ),
        _compact(e(event_params=[_param("page_title", string_value=" spaced ")], user_id="  crm-1 ")),
        # NaN, Infinity, -Infinity, -0.0, 1e400 (inf), huge ints, floats with exponents
        _compact(e()).replace(
            '"platform":"WEB"',
            '"platform":"WEB","metrics":[NaN,Infinity,-Infinity,-0.0,'
            "1e400,1E5,0.1,1.0,123456789012345678901234567890,-0]",
        ),
        _compact(
            e(
                event_params=[
                    _param("engagement_time_msec", double_value=-0.0),
                    _param("page_title", double_value=1.5),
                    _param("other", int_value=2**70),
                ]
            )
        ),
        _compact(e()).replace('"event_params":[', '"event_params":[{"key":"x","value":{"double_value":NaN}},'),
        # duplicate keys: the last value wins, at the first key's place
        _compact(e()).replace('"event_name":"page_view"', '"event_name":"first","event_name":"page_view"'),
        _compact(e()).replace('"country":"China"', '"country":"China","city":"A","country":"Japan"'),
        _compact(e()).replace(
            '{"key":"page_title","value":{',
            '{"key":"page_title","value":{"string_value":"dup","string_value":"second",',
        ),
        # escapes: a lone surrogate in a column (quarantined), in extra (quarantined), in a key nothing reads
        _compact(e()).replace("价格 - 示例", "\\ud800 lone"),
        _compact(e()).replace('"platform":"WEB"', '"platform":"WEB\\udfff"'),
        _compact(e()).replace('"browser":"Chrome"', '"br\\ud83dowser":"Chrome"'),
        _compact(e()).replace('"platform":"WEB"', '"platform":"\\ud83d\\ude00 pair, \\u0000 nul, \\u2028, \\/"'),
        _compact(e()).replace("价格 - 示例", "garbled \ufffd mark"),  # U+FFFD: quarantined
        _compact(e()).replace('"platform":"WEB"', '"platform":"\ufffd"'),  # U+FFFD in extra: quarantined
        "  " + _compact(e()) + " \t",  # surrounding whitespace
        "",  # blank line: not an event
        _compact(e(privacy_info={"analytics_storage": " no "}, user_pseudo_id=None)),  # cookieless: kept
        _compact(e(device={"category": 1.0}, geo={"country": True, "city": ["a", {"b": 2, "a": 1}]})),
        _compact(e(event_params=[_param("ga_session_id", int_value=3.0)])),
        _compact(e(extra_nested={"z": {"y": [1, {"b": None, "a": [{"d": 1, "c": 2}]}]}, "a": "first"})),
        # nested near the encoder's limit, and past what can be stored or parsed
        _compact(e(deep=json.loads("[" * 500 + "]" * 500))),
        _compact(e(deep=json.loads("[" * 700 + "]" * 700))),
        "[" * 100_000 + "]" * 100_000,
        # the web extract's own sentinel (webjson) as a value elsewhere, before and after event_params; a
        # param value holding an object out of key order
        _compact(e(event_params=[_param("page_title", string_value="t")], device={"event_params": "\x00webjson\x00"})),
        _compact(e(event_params=[_param("page_title", string_value="t")], zz={"event_params": "\x00webjson\x00"})),
        _compact(e(event_params=[{"key": "page_title", "value": {"string_value": {"b": 1, "a": 2}}}])),
        # rows that must be quarantined
        '{"event_date":"20261121",' + TS + ',"event_name":"page_view","user_pseudo_id":"u"',  # cut
        "[1,2,3]",
        _compact(e(event_name="  ")),
        _compact(e(event_timestamp="soon")),
        _compact(e(event_timestamp=2**80)),
        _compact(e(event_date="2026-11-21")),
        _compact(e(event_params={"key": "page_title"})),
        _compact(e(event_params=[{"key": ["x"], "value": {"int_value": 1}}])),
        _compact(e(event_params=[_param("ga_session_id", int_value="abc")])),
        _compact(e(event_params=[_param("ga_session_id", int_value=2**63)])),
        _compact(e(event_params=[_param("engagement_time_msec", double_value=1.5)])),
        _compact(e()) + " {}",  # extra data
        "\ufeff" + _compact(e()),  # a BOM inside the file
        _compact(e(page="x" * 120_000, event_name=None)),  # quarantined and clipped
    ]
    lines = [line.encode("utf-8", "surrogatepass") for line in text]
    lines[0] = b"\xef\xbb\xbf" + lines[0]  # a BOM at the start of the file (read as utf-8-sig)
    lines.insert(5, _compact(e()).replace("价格", "价").encode("utf-8")[:-40] + b"\xff\xfe" + b'"}')  # not UTF-8
    return lines


def _plain(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(settings) -> dict:
    """Extract the hostile file (plus a CRLF copy of its first lines) and return lake, quarantine, manifest."""
    from tests.sources.helpers import drop_dir, extract, quarantine_rows, raw_rows

    folder = drop_dir(settings, "web")
    lines = hostile_lines()
    (folder / "ga4_events_000.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "ga4_events_001.ndjson").write_bytes(b"\r\n".join(lines[1:8]))  # CRLF, no final line end
    manifest = extract("web", settings)
    order = ("_source_file", "_row_number")

    def rows(table_rows):
        return [
            {k: _plain(v) for k, v in row.items()} for row in sorted(table_rows, key=lambda r: [r[k] for k in order])
        ]

    return {
        "manifest": manifest,
        "raw": rows(raw_rows(settings, "web_events")),
        "quarantine": rows(quarantine_rows(settings, "web_events")),
    }


def test_web_extract_equals_mains_output_byte_for_byte(settings):
    got = json.loads(json.dumps(snapshot(settings), ensure_ascii=False))
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert got["manifest"] == expected["manifest"]
    assert len(got["raw"]) == len(expected["raw"]) and len(got["quarantine"]) == len(expected["quarantine"])
    for table in ("raw", "quarantine"):
        for row, want in zip(got[table], expected[table], strict=True):
            assert row == want, (
                table,
                row["_row_number"],
                {k: (row[k], want.get(k)) for k in row if row[k] != want.get(k)},
            )


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    from intent_pipeline.settings import Settings

    with tempfile.TemporaryDirectory(prefix="webjson-") as home:
        data = snapshot(Settings.from_env({"INTENT_HOME": home}))
    EXPECTED.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{EXPECTED}: {len(data['raw'])} raw, {len(data['quarantine'])} quarantined")
