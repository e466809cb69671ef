"""Hostile and broken landing files: valid seed exports per source and the mutations that break them.

Shared by the property tests (tests/sources/test_hostile.py, Hypothesis draws the seed, the mutations
and a ``random.Random``) and the robustness corpus (bench/robustness_corpus.py writes fixed cases to
bench/corpus/). Every function is deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

SOURCES = ("forms", "email", "web", "crm")

JINSHUJU = ["序号", "表单名称", "姓名", "手机号", "邮箱", "公司", "职位", "行业", "公司规模", "提交时间", "来源",
            "client_id"]  # fmt: skip
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Job Title", "Industry",
            "Company Size", "Submitted At", "UTM Source", "client_id"]  # fmt: skip
HUBSPOT = ["Conversion ID", "Form name", "First Name", "Last Name", "Email", "Phone number", "Company name",
           "Job title", "Industry", "Number of employees", "Conversion date", "Original source",
           "client_id"]  # fmt: skip
LEADS = ["Lead ID", "Email", "Phone", "Name", "Company", "Title", "Industry", "Employees", "Region", "Owner", "Status",
         "Lead Source", "Created Date", "Last Modified Date"]  # fmt: skip
OPPORTUNITIES = ["Opportunity ID", "Lead ID", "Opportunity Name", "Stage", "Amount", "Currency", "Created Date",
                 "Close Date"]  # fmt: skip

# Names that garble visibly under a wrong decoding (张伟 read as GB18030 after UTF-8 is 寮犱紵).
NAMES = ["张伟", "李娜", "王芳", "José Müller", "Zoë O'Brien"]
EPOCH = datetime(1970, 1, 1)
MOMENT = datetime(2026, 11, 21, 8, 0, 0)


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def jinshuju_rows(n: int = 3, form: str = "免费试用申请") -> list[list]:
    return [
        [str(i + 1), form, NAMES[i % len(NAMES)], f"1380013800{i % 10}", f"user{i}@example.com", "上海示例科技",
         "技术总监", "零售", "100-499人", f"2026-11-21 0{i % 10}:00:00", "百度", ""]
        for i in range(n)
    ]  # fmt: skip


def typeform_rows(n: int = 3) -> list[list]:
    return [
        [f"tf-{i}", "Book a Demo", NAMES[i % len(NAMES)], f"tf{i}@example.com", "+1 415 555 0100", "Acme", "CTO",
         "SaaS", "50-99", "2026-11-21T08:00:00Z", "google", ""]
        for i in range(n)
    ]  # fmt: skip


def hubspot_xlsx(n: int = 3, sheets: int = 1) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    for index in range(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet(f"Sheet{index + 1}")
        sheet.append(HUBSPOT)
        for i in range(n):
            number = index * n + i
            sheet.append([f"hs-{number}", "Contact us", "Wei", "Zhang", f"hs{number}@example.com", "13800138000",
                          "Acme", "CTO", "SaaS", "50", MOMENT, "Organic search", ""])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sendgrid_event(i: int, event: str = "open") -> dict:
    return {
        "email": f"user{i}@example.com",
        "timestamp": 1763712000 + i,
        "event": event,
        "sg_event_id": f"sg-{i}-{event}",
        "sg_message_id": f"msg-{i}.filter",
        "category": ["newsletter"],
        "useragent": "Mozilla/5.0",
        "ip": "203.0.113.7",
    }


def ga4_event(i: int) -> dict:
    moment = MOMENT + timedelta(minutes=i)
    return {
        "event_date": moment.strftime("%Y%m%d"),
        "event_timestamp": str((moment - EPOCH) // timedelta(microseconds=1)),
        "event_name": "page_view",
        "event_params": [
            {"key": "page_location", "value": {"string_value": "https://www.example.com/pricing"}},
            {"key": "page_title", "value": {"string_value": "价格 - 示例科技"}},
            {"key": "ga_session_id", "value": {"int_value": "1763683200"}},
        ],
        "user_pseudo_id": f"{1234567890 + i}.1763683200",
        "traffic_source": {"name": "(organic)", "medium": "organic", "source": "baidu"},
        "device": {"category": "desktop"},
        "geo": {"country": "China", "city": "Shanghai"},
    }


def leads_rows(n: int = 3) -> list[list]:
    return [
        [f"00Q{i:03d}", f"lead{i}@example.com", "138-0013-8000", NAMES[i % len(NAMES)], "上海示例科技", "CTO", "零售",
         "100-499", "华东", "Amy Wu", "Working", "Web", "2026-11-21 08:00:00", "2026-11-21 09:15:00"]
        for i in range(n)
    ]  # fmt: skip


def opportunity_rows(n: int = 3) -> list[list]:
    return [
        [f"006{i:03d}", f"00Q{i:03d}", "年度订阅", "Proposal", f"{1000 * (i + 1)}.50", "CNY", "2026-11-01 10:00:00", ""]
        for i in range(n)
    ]


def seeds(source: str) -> dict[str, bytes]:
    """Valid files of one source (name -> bytes), each with 3 rows: what the mutations start from."""
    if source == "forms":
        return {
            "jinshuju.csv": csv_bytes(JINSHUJU, jinshuju_rows()),
            "jinshuju_gbk.csv": csv_bytes(JINSHUJU, jinshuju_rows()[:3], "gb18030"),
            "typeform.csv": csv_bytes(TYPEFORM, typeform_rows()),
            "hubspot.xlsx": hubspot_xlsx(),
        }
    if source == "email":
        return {"sendgrid.json": json.dumps([sendgrid_event(i) for i in range(3)], ensure_ascii=False).encode()}
    if source == "web":
        lines = [json.dumps(ga4_event(i), ensure_ascii=False) for i in range(3)]
        return {"ga4.jsonl": ("\n".join(lines) + "\n").encode()}
    if source == "crm":
        return {
            "leads_export.csv": csv_bytes(LEADS, leads_rows()),
            "opportunities_export.csv": csv_bytes(OPPORTUNITIES, opportunity_rows()),
        }
    raise ValueError(source)


# A good file dropped beside each hostile one: it must load in full whatever its neighbour does.
def good_file(source: str) -> tuple[str, bytes, int]:
    name, data = {
        "forms": ("zz_good.csv", csv_bytes(TYPEFORM, typeform_rows())),
        "email": ("zz_good.json", json.dumps([sendgrid_event(100 + i, "click") for i in range(3)]).encode()),
        "web": ("zz_good.jsonl", ("\n".join(json.dumps(ga4_event(100 + i)) for i in range(3)) + "\n").encode()),
        "crm": ("leads_zz_good.csv", csv_bytes(LEADS, leads_rows())),
    }[source]
    return name, data, 3


# --- byte-level mutations ---------------------------------------------------------------------

HOSTILE_BYTES = [b"\x00", b"\xff", b"\xfe", b"\x81", b"\xe9", b"\xc3", b"\xed\xa0\xbd", b"\r", b"\n", b'"', b",",
                 b"\xef\xbb\xbf", b"\x1a", b"\\", b"{", b"["]  # fmt: skip


def truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(len(data) + 1)]


def flip_bytes(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        out[rnd.randrange(len(out))] = rnd.randrange(256)
    return bytes(out)


def insert_bytes(data: bytes, rnd: random.Random) -> bytes:
    at = rnd.randrange(len(data) + 1)
    return data[:at] + b"".join(rnd.choice(HOSTILE_BYTES) for _ in range(rnd.randint(1, 3))) + data[at:]


def latin1_byte(data: bytes, rnd: random.Random) -> bytes:
    """One Latin-1 é (0xE9) in a UTF-8 file: the byte that used to switch a whole file to GB18030."""
    at = rnd.randrange(len(data) + 1)
    return data[:at] + b"\xe9" + data[at:]


def reencode(data: bytes, rnd: random.Random) -> bytes:
    encoding = rnd.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "gb18030", "latin-1", "utf-32", "big5"])
    textual = data.decode("utf-8", errors="replace")
    return textual.encode(encoding, errors="replace")


def huge_field(data: bytes, rnd: random.Random) -> bytes:
    at = rnd.randrange(len(data) + 1)
    return data[:at] + rnd.choice([b"x", "张".encode(), b'"']) * rnd.choice([5_000, 200_000]) + data[at:]


def shuffle_lines(data: bytes, rnd: random.Random) -> bytes:
    lines = data.split(b"\n")
    rnd.shuffle(lines)
    return b"\n".join(lines)


def duplicate_lines(data: bytes, rnd: random.Random) -> bytes:
    lines = data.split(b"\n")
    at = rnd.randrange(len(lines))
    return b"\n".join(lines[:at] + [lines[at]] * rnd.randint(2, 5) + lines[at:])


def line_endings(data: bytes, rnd: random.Random) -> bytes:
    return data.replace(b"\n", rnd.choice([b"\r", b"\r\r\n", b"\n\n", b"\x85", "\u2028".encode()]))


def binary_noise(data: bytes, rnd: random.Random) -> bytes:
    return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 600)))


def bom_only(data: bytes, rnd: random.Random) -> bytes:
    return rnd.choice([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE, b""])


BYTE_MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": truncate,
    "flip_bytes": flip_bytes,
    "insert_bytes": insert_bytes,
    "latin1_byte": latin1_byte,
    "reencode": reencode,
    "huge_field": huge_field,
    "shuffle_lines": shuffle_lines,
    "duplicate_lines": duplicate_lines,
    "line_endings": line_endings,
    "binary_noise": binary_noise,
    "bom_only": bom_only,
}


# --- JSON-level mutations (email and web) --------------------------------------------------------


def odd_value(rnd: random.Random, depth: int = 0):
    """A JSON value of an unexpected type or size."""
    choices = [
        None, True, False, 0, -1, 2**70, -(2**70), 1e308, -0.0, 1.5, "", " ", "\ud83d", "\udc00x", "x" * 10_000,
        "1763712000", "2026-11-21", "NaN", "0x1F", "1e400", "\u202e\u0000", "张伟\r\n", [], {}, [None], {"": None},
    ]  # fmt: skip
    if depth < 2 and rnd.random() < 0.3:
        if rnd.random() < 0.5:
            return [odd_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
        return {str(rnd.choice(["a", "event", "key", "value", "\ud83d"])): odd_value(rnd, depth + 1)}
    return rnd.choice(choices)


def _mutate_json(value, rnd: random.Random):
    if isinstance(value, dict) and value:
        key = rnd.choice(list(value))
        if rnd.random() < 0.5:
            value[key] = odd_value(rnd)
        else:
            value[key] = _mutate_json(value[key], rnd)
    elif isinstance(value, list) and value:
        index = rnd.randrange(len(value))
        value[index] = _mutate_json(value[index], rnd) if rnd.random() < 0.6 else odd_value(rnd)
    else:
        return odd_value(rnd)
    return value


def _dumps(value) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud83d escapes, as a real producer's bug would write them
    return json.dumps(value, ensure_ascii=True).encode()


def odd_types(source: str, rnd: random.Random) -> bytes:
    """A seed whose JSON values are replaced by odd types: huge ints, lone surrogates, nested objects, ..."""
    if source == "email":
        events = [sendgrid_event(i, rnd.choice(["open", "unsubscribe", "bounce"])) for i in range(3)]
        for _ in range(rnd.randint(1, 4)):
            events = _mutate_json(events, rnd)
        return _dumps(events)
    events = [ga4_event(i) for i in range(3)]
    lines = []
    for event in events:
        for _ in range(rnd.randint(0, 3)):
            event = _mutate_json(event, rnd)
        lines.append(_dumps(event))
    return b"\n".join(lines) + b"\n"


def deep_nesting(source: str, rnd: random.Random) -> bytes:
    depth = rnd.choice([500, 5_000, 100_000])
    nested = b"[" * depth + b"]" * depth
    if source == "email":
        return rnd.choice([nested, b'[{"event": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}]"])
    return _dumps(ga4_event(0)) + b"\n" + nested + b"\n"


def wrapper(source: str, rnd: random.Random) -> bytes:
    events = [sendgrid_event(i) for i in range(3)]
    return json.dumps(rnd.choice([{"events": events}, {"events": "nope"}, {"data": events}, "events", 42])).encode()


JSON_MUTATIONS: dict[str, Callable[[str, random.Random], bytes]] = {
    "odd_types": odd_types,
    "deep_nesting": deep_nesting,
    "wrapper": wrapper,
}


def hostile_case(source: str, rnd: random.Random, seed_name: str, mutations: list[str]) -> tuple[str, bytes]:
    """(file name, bytes): a seed file of ``source`` with ``mutations`` applied in order."""
    files = seeds(source)
    data = files[seed_name]
    for name in mutations:
        if name in JSON_MUTATIONS:
            data = JSON_MUTATIONS[name](source, rnd)
        else:
            data = BYTE_MUTATIONS[name](data, rnd)
    return seed_name, data


def mutations_for(source: str) -> list[str]:
    extra = ["odd_types", "deep_nesting"] if source in ("email", "web") else []
    if source == "email":
        extra.append("wrapper")
    return [*BYTE_MUTATIONS, *extra]
