"""Erasure in the landing drops (plugins/intent_pipeline/privacy/landing.py; docs/privacy.md,
"Erasure"): each landing format loses the erased person's records and keeps every other record as
it was; ``erase`` lists the files in a dry run and rewrites them, and a re-extract then reads only
the others (fast: no warehouse)."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from intent_pipeline import lake
from intent_pipeline.privacy import landing, mask, residual, suppression
from intent_pipeline.privacy.erase import ErasureRequest, erase
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

DAY = date(2026, 11, 21)
SALT = "landing-test-salt"
HER = [("email", "wang.fang@example.com"), ("phone", "+8613800138000"), ("web", "111.222"), ("crm_lead", "00Qwang")]


@pytest.fixture()
def matcher() -> suppression.Suppression:
    return suppression.Suppression(frozenset(suppression.hashes_of(HER, SALT)), SALT)


# a multi-line quoted note, quotes inside a field, CRLF line ends, and her phone typed with dashes
CSV_TEXT = (
    "姓名,手机号,邮箱,备注\r\n"
    '李娜,139 1111 2222,li.na@example.cn,"说 ""你好"""\r\n'
    '王芳,138-0013-8000,,"两行\n备注"\r\n'
    "张伟,137 2222 3333,zhang@example.cn,\r\n"
    '"Wang, Fang",,Wang.Fang@Example.com,\r\n'
)
KEPT_TEXT = (
    "姓名,手机号,邮箱,备注\r\n"
    '李娜,139 1111 2222,li.na@example.cn,"说 ""你好"""\r\n'
    "张伟,137 2222 3333,zhang@example.cn,\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_keeps_every_other_record_byte_for_byte(matcher, encoding):
    new, removed = landing.rewrite_csv(CSV_TEXT.encode(encoding), matcher)
    assert removed == 2
    assert new == KEPT_TEXT.encode(encoding)  # the BOM, the encoding, the quoting and the line ends as they were


def test_a_csv_field_with_a_line_separator_stays_one_record(matcher):
    text = "姓名,邮箱,备注\r\n李娜,li.na@example.cn,a\u2028b\x85c\r\n王芳,wang.fang@example.com,x\u2028y\r\n"
    new, removed = landing.rewrite_csv(text.encode("utf-8"), matcher)
    assert removed == 1 and new == "姓名,邮箱,备注\r\n李娜,li.na@example.cn,a\u2028b\x85c\r\n".encode()


def test_a_csv_is_cut_into_the_records_the_extract_reads(matcher):
    # a multi-line quoted note, a stray quote inside an unquoted field (27" monitor: read as text by the
    # extract, which loads the rows after it; a quote-counting split joined them to it, unchecked), and a
    # cut export: a quote left open at the end, each line of the tail its own quarantined row
    text = (
        "姓名,手机号,邮箱,备注\r\n"
        '李娜,139 1111 2222,li.na@example.cn,"两行\r\n备注"\r\n'
        '张伟,137 2222 3333,zhang@example.cn,27" 显示器\r\n'
        "王芳,138-0013-8000,,\r\n"
        "赵六,136 0000 1111,zhao@example.cn,\r\n"
        '"Wang, Fang",,Wang.Fang@Example.com,"被截\r\n'
        "断的备注"
    )
    new, removed = landing.rewrite_csv(text.encode("utf-8"), matcher)
    kept = (
        "姓名,手机号,邮箱,备注\r\n"
        '李娜,139 1111 2222,li.na@example.cn,"两行\r\n备注"\r\n'
        '张伟,137 2222 3333,zhang@example.cn,27" 显示器\r\n'
        "赵六,136 0000 1111,zhao@example.cn,\r\n"
        "断的备注"
    )
    assert (new, removed) == (kept.encode(), 2)
    # the same two are the rows the extract's reader holds of her (one loaded, one of the cut tail)
    from intent_pipeline.sources.base import LandingFile
    from intent_pipeline.sources.tabular import read_csv

    sheet = read_csv(LandingFile(None, "x.csv", "forms/x.csv"), text.encode("utf-8"))
    assert [n for n, cells in sheet.rows + sheet.damaged if landing._values_hit(cells, matcher)] == [3, 5]


def test_a_csv_without_her_is_left_alone(matcher):
    assert landing.rewrite_csv(KEPT_TEXT.encode("gb18030"), matcher) == (None, 0)


def test_xlsx_loses_her_rows_in_every_sheet(matcher):
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.append(["姓名", "手机号", "邮箱"])
    first.append(["李娜", 13911112222, "li.na@example.cn"])
    first.append(["王芳", 13800138000, None])  # her phone as Excel stores a number
    second = workbook.create_sheet("第二页")
    second.append(["姓名", "手机号", "邮箱"])
    second.append(["Wang Fang", None, "WANG.FANG@example.com"])
    second.append(["张伟", "137 2222 3333", "zhang@example.cn"])
    data = io.BytesIO()
    workbook.save(data)
    new, removed = landing.rewrite_xlsx(data.getvalue(), matcher)
    assert removed == 2
    kept = openpyxl.load_workbook(io.BytesIO(new))
    assert [list(s.iter_rows(values_only=True)) for s in kept.worksheets] == [
        [("姓名", "手机号", "邮箱"), ("李娜", 13911112222, "li.na@example.cn")],
        [("姓名", "手机号", "邮箱"), ("张伟", "137 2222 3333", "zhang@example.cn")],
    ]


def test_a_json_array_keeps_the_other_events_as_they_were(matcher):
    pretty = (
        b'[\n  {"email": "a@b.cn", "event": "open"},\n  {"email": "wang.fang@example.com"},\n  {"email": "c@d.cn"}\n]\n'
    )
    assert landing.rewrite_json(pretty, matcher) == (
        b'[\n  {"email": "a@b.cn", "event": "open"},\n  {"email": "c@d.cn"}\n]\n',
        1,
    )
    compact = b'[{"email":"a@b.cn"},{"email":"c@d.cn"},{"email":"Wang.Fang@Example.com"}]'
    assert landing.rewrite_json(compact, matcher) == (b'[{"email":"a@b.cn"},{"email":"c@d.cn"}]', 1)
    assert landing.rewrite_json(b'[{"email":"wang.fang@example.com"}]', matcher) == (b"[]", 1)
    wrapped = b'{"events": [{"email": "wang.fang@example.com"}, {"email": "q@q.cn"}]}'
    new, removed = landing.rewrite_json(wrapped, matcher)
    assert removed == 1 and json.loads(new) == {"events": [{"email": "q@q.cn"}]}


def test_ndjson_loses_her_lines_and_a_damaged_line_naming_her(matcher):
    lines = [b'{"user_pseudo_id": "111.222", "event_name": "page_view"}\n',
             b'{"user_pseudo_id": "333.444", "event_name": "page_view"}\n',
             b'{"user_id": "u1", "note": "wang.fang@example.com"\n',  # not JSON: searched as text
             b'{"user_pseudo_id": "555.666"}']  # fmt: skip
    assert landing.rewrite_ndjson(b"".join(lines), matcher) == (lines[1] + lines[3], 2)


TYPEFORM = "Submission ID,Form,Full Name,Email Address,Phone Number,Company,Job Title,Submitted At"


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    monkeypatch.setenv("INTENT_PII_SALT", SALT)
    monkeypatch.delenv("INTENT_SUPPRESSION_LIST", raising=False)
    settings = Settings.from_env()
    forms = Path(settings.landing_url) / "forms" / f"dt={DAY}"
    forms.mkdir(parents=True)
    rows = [
        "s1,Book a Demo,王芳,Wang.Fang@Example.com,,华瑞,CTO,2026-11-21T01:00:00Z",
        "s2,Book a Demo,李娜,li.na@example.cn,139 1111 2222,华瑞,CTO,2026-11-21T02:00:00Z",
        "s3,Book a Demo,王芳,wang.fang@example.com,138-0013-8000,华瑞,CTO,not a time",  # quarantined
    ]
    (forms / "excel-export.csv").write_bytes(("\r\n".join([TYPEFORM, *rows]) + "\r\n").encode("gb18030"))
    workbook = openpyxl.Workbook()
    workbook.active.append(TYPEFORM.split(","))
    workbook.active.append(["x1", "Whitepaper", "张伟", "zhang@example.cn", "", "Beta", "CEO", "2026-11-21T03:00:00Z"])
    workbook.active.append(["x2", "Whitepaper", "王芳", "wang.fang@example.com", "", "华瑞", "CTO",
                            "2026-11-21T04:00:00Z"])  # fmt: skip
    workbook.save(forms / "jinshuju.xlsx")
    email = Path(settings.landing_url) / "email" / f"dt={DAY}"
    email.mkdir(parents=True)
    events = [{"email": e, "timestamp": 1795226400, "event": "open", "sg_event_id": k}
              for k, e in (("e1", "wang.fang@example.com"), ("e2", "zhang@example.cn"))]  # fmt: skip
    (email / "batch.json").write_text(json.dumps(events), encoding="utf-8")
    return settings


def _extract(settings: Settings) -> dict:
    return {source: extract_source(source, settings, DAY, batch_id=f"b/{source}") for source in ("forms", "email")}


def test_erase_rewrites_the_landing_drops(settings):
    first = _extract(settings)
    assert first["forms"]["tables"]["forms_submissions"]["read"] == 5
    data = Path(settings.lake_dir).parent
    values = {"wang.fang@example.com"}
    assert set(residual.search([Path(settings.landing_url)], values)) == {
        str(Path(settings.landing_url) / "forms" / f"dt={DAY}" / "excel-export.csv"),
        str(Path(settings.landing_url) / "email" / f"dt={DAY}" / "batch.json"),
        str(Path(settings.landing_url) / "forms" / f"dt={DAY}" / "jinshuju.xlsx"),  # searched cell by cell
    }
    request = [ErasureRequest("email", "WANG.FANG@example.com", "PIPL art. 47, ticket 9")]

    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    planned = erase(settings, request, dry_run=True)
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before  # a dry run changes nothing
    assert sorted((Path(f["path"]).name, f["format"], f["records"]) for f in planned["landing_files"]) == [
        ("batch.json", "json", 1), ("excel-export.csv", "csv", 2), ("jinshuju.xlsx", "xlsx", 1)]  # fmt: skip

    report = erase(settings, request)

    assert report["landing_records_removed"] == 4
    assert residual.search([data], values) == {}  # nothing under the data folder, the landing drops included
    csv_text = (Path(settings.landing_url) / "forms" / f"dt={DAY}" / "excel-export.csv").read_bytes()
    assert csv_text == (TYPEFORM + "\r\ns2,Book a Demo,李娜,li.na@example.cn,139 1111 2222,华瑞,CTO,"
                        "2026-11-21T02:00:00Z\r\n").encode("gb18030")  # fmt: skip
    assert not list(Path(settings.landing_url).rglob(".*"))  # no temporary file left in a drop
    # a re-extract reads only the others: nothing of hers to load, quarantine or suppress
    again = _extract(settings)
    assert again["forms"]["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0, "suppressed": 0}
    assert again["email"]["tables"]["email_events"] == {"read": 1, "loaded": 1, "quarantined": 0, "suppressed": 0}
    kept = lake.read_partition(settings.lake_dir, "raw", "forms_submissions", DAY).to_pylist()
    assert sorted(r["submission_id"] for r in kept) == ["s2", "x1"]
    assert residual.search([data], values) == {}


def test_the_landing_matcher_is_the_suppression_hash(settings):
    """The rewrite compares salted hashes, as the extract does: the same person under another salt is
    somebody else (the list's salt must never change, docs/privacy.md)."""
    other = suppression.Suppression(frozenset(suppression.hashes_of(HER, "another salt")), SALT)
    assert landing.scrub_landing(settings.landing_url, other, apply=False) == []
    ours = suppression.Suppression(frozenset(suppression.hashes_of(HER, mask.salt())), mask.salt())
    assert sum(hit.records for hit in landing.scrub_landing(settings.landing_url, ours, apply=False)) == 4
