"""Form exports: jinshuju (GBK / UTF-8 BOM CSV), Typeform (CSV), HubSpot (XLSX) into forms_submissions."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.sources.helpers import (
    BATCH,
    DAY,
    DS,
    LOADED_AT,
    assert_accounting,
    by_row,
    csv_bytes,
    drop_dir,
    extract,
    quarantine_rows,
    raw_rows,
)

JINSHUJU = ["序号", "表单名称", "姓名", "手机号", "邮箱", "公司", "职位", "行业", "公司规模", "提交时间", "来源",
            "client_id"]  # fmt: skip
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Job Title", "Industry",
            "Company Size", "Submitted At", "UTM Source", "client_id"]  # fmt: skip
HUBSPOT = ["Conversion ID", "Form name", "First Name", "Last Name", "Email", "Phone number", "Company name",
           "Job title", "Industry", "Number of employees", "Conversion date", "Original source",
           "client_id"]  # fmt: skip

JINSHUJU_ROWS = [
    ["1", "免费试用申请", "张伟", "+86 138 0013 8000", "  Zhang.Wei@Example.COM ", "上海示例科技有限公司", "技术总监",
     "零售", "100-499人", "2026-11-21 08:00:00", "百度", "1234567890.1763683200"],
    ["2", "白皮书下载", "李娜", "13800138000", "li.na@example.cn", "杭州示例", "市场经理", "制造业", "50-99人",
     "2026-11-20 23:30:15", "微信", ""],
    ["3", "预约演示", "王芳", "138-0013-8000", "", "北京示例", "CEO", "金融", "1000人以上", "2026-11-21 12:00:00", "",
     ""],
]  # fmt: skip


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_jinshuju_csv_in_gbk_and_utf8_bom(settings, encoding):
    (drop_dir(settings, "forms") / "jinshuju_export.csv").write_bytes(csv_bytes(JINSHUJU, JINSHUJU_ROWS, encoding))

    manifest = extract("forms", settings)

    assert manifest["file_errors"] == []
    rows = by_row(raw_rows(settings, "forms_submissions"), "jinshuju_export.csv")
    assert sorted(rows) == [1, 2, 3]
    first = rows[1]
    assert first["form_tool"] == "jinshuju"
    assert first["form_name"] == "免费试用申请"
    assert first["full_name"] == "张伟"
    assert first["company"] == "上海示例科技有限公司"
    assert first["job_title"] == "技术总监"
    assert first["company_size"] == "100-499人"
    assert first["lead_source"] == "百度"
    assert first["client_id"] == "1234567890.1763683200"
    assert first["email"] == "zhang.wei@example.com"  # lower-cased and trimmed, dots kept
    # Asia/Shanghai wall-clock time to naive UTC.
    assert first["submitted_at"] == datetime(2026, 11, 21, 0, 0, 0)
    assert rows[2]["submitted_at"] == datetime(2026, 11, 20, 15, 30, 15)
    # Three ways of writing one number give one E.164 phone; the input is kept.
    assert {r["phone"] for r in rows.values()} == {"+8613800138000"}
    assert [rows[n]["phone_raw"] for n in (1, 2, 3)] == ["+86 138 0013 8000", "13800138000", "138-0013-8000"]
    assert rows[3]["email"] is None and rows[2]["client_id"] is None
    assert first["_source_file"] == f"forms/dt={DS}/jinshuju_export.csv"
    assert first["_loaded_at"] == LOADED_AT and first["_batch_id"] == BATCH and first["_interval_start"] == DAY
    assert first["extra"] is None


def test_typeform_csv_offsets_header_spaces_and_unknown_column(settings):
    header = [" Submission ID", *TYPEFORM[1:], "Utm Campaign "]  # stray spaces as Excel leaves them
    rows = [
        ["tf-001", "Book a Demo", "Alice Chen", "Alice.Chen@Example.com", "+1 650 253 0000", "Acme", "VP Sales",
         "Retail", "200-499", "2026-11-21T08:00:00+08:00", "google", "111.222", "black_friday"],
        ["tf-002", "Whitepaper: Retail AI", "Bob Li", "bob@example.com", "", "Beta", "Analyst", "Finance", "1-49",
         "2026-11-21T00:00:00Z", "linkedin", "", ""],
    ]  # fmt: skip
    (drop_dir(settings, "forms") / "typeform_responses.csv").write_bytes(csv_bytes(header, rows))

    extract("forms", settings)

    loaded = by_row(raw_rows(settings, "forms_submissions"), "typeform_responses.csv")
    assert loaded[1]["form_tool"] == "typeform"
    assert loaded[1]["submission_id"] == "tf-001"
    assert loaded[1]["submitted_at"] == loaded[2]["submitted_at"] == datetime(2026, 11, 21, 0, 0, 0)
    assert loaded[1]["phone"] == "+16502530000"
    assert loaded[2]["phone"] is None and loaded[2]["phone_raw"] is None
    assert json.loads(loaded[1]["extra"]) == {"Utm Campaign": "black_friday"}
    assert json.loads(loaded[2]["extra"]) == {"Utm Campaign": None}


def test_hubspot_xlsx_excel_datetimes_strings_and_numbers(settings):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Submissions"
    sheet.append(HUBSPOT)
    sheet.append(["9001", "Book a Demo", "Na", "Li", "LI.NA@EXAMPLE.COM", 13800138000, "Example Ltd", "Director",
                  "Retail", 250, datetime(2026, 11, 21, 8, 0), "Organic search", "c-1"])  # fmt: skip
    sheet.append(["9002", "Brochure", "芳", "王", "wang.fang@example.cn", "+86 139 1234 5678", "示例", "经理", "制造业",
                  "50-99", "2026-11-21 09:30", "Direct traffic", None])  # fmt: skip
    sheet.cell(row=2, column=11).number_format = "yyyy-mm-dd hh:mm"
    workbook.save(drop_dir(settings, "forms") / "hubspot_form_submissions.xlsx")

    manifest = extract("forms", settings)

    assert manifest["file_errors"] == []
    rows = by_row(raw_rows(settings, "forms_submissions"), "hubspot_form_submissions.xlsx")
    assert rows[1]["form_tool"] == "hubspot_forms"
    assert rows[1]["full_name"] == "Na Li" and rows[2]["full_name"] == "王芳"
    assert rows[1]["email"] == "li.na@example.com"
    assert rows[1]["phone"] == "+8613800138000" and rows[1]["phone_raw"] == "13800138000"
    assert rows[1]["company_size"] == "250"
    assert rows[1]["submitted_at"] == datetime(2026, 11, 21, 0, 0)
    assert rows[2]["submitted_at"] == datetime(2026, 11, 21, 1, 30)
    assert rows[2]["phone"] == "+8613912345678"
    assert rows[2]["client_id"] is None


def test_bad_rows_are_quarantined_with_reason_and_original_content(settings):
    rows = [
        ["ok-1", "Book a Demo", "Ok", "ok@example.com", "12345", "", "", "", "", "2026-11-21T08:00:00+08:00", "", ""],
        ["no-time", "Book a Demo", "A", "a@example.com", "", "", "", "", "", "", "", ""],
        ["bad-time", "Book a Demo", "B", "b@example.com", "", "", "", "", "", "yesterday", "", ""],
        ["bad-mail", "Book a Demo", "C", "c at example.com", "", "", "", "", "", "2026-11-21T08:00:00Z", "", ""],
        ["no-contact", "Book a Demo", "D", "", "", "", "", "", "", "2026-11-21T08:00:00Z", "", ""],
        ["", "", "", "", "", "", "", "", "", "", "", ""],  # a blank line: not a submission
    ]
    (drop_dir(settings, "forms") / "typeform.csv").write_bytes(csv_bytes(TYPEFORM, rows))

    manifest = extract("forms", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["forms_submissions"] == {"read": 5, "loaded": 1, "quarantined": 4}
    loaded = by_row(raw_rows(settings, "forms_submissions"), "typeform.csv")
    # An unparseable phone is not a reason on its own: the row loads with phone null.
    assert loaded[1]["phone"] is None and loaded[1]["phone_raw"] == "12345"
    quarantined = by_row(quarantine_rows(settings, "forms_submissions"), "typeform.csv")
    assert sorted(quarantined) == [2, 3, 4, 5]
    assert "Submitted At" in quarantined[2]["reason"] and "empty" in quarantined[2]["reason"]
    assert quarantined[3]["reason"].startswith("invalid 'Submitted At': ") and "yesterday" in quarantined[3]["reason"]
    assert quarantined[4]["reason"] == "invalid 'Email Address': not an email address: 'c at example.com'"
    assert "email or phone" in quarantined[5]["reason"]
    original = json.loads(quarantined[3]["raw_content"])
    assert original["Submission ID"] == "bad-time" and original["Submitted At"] == "yesterday"
    assert all(q["_batch_id"] == BATCH and q["_interval_start"] == DAY for q in quarantined.values())


def test_file_missing_a_required_column_is_quarantined_whole(settings):
    header = [h for h in JINSHUJU if h != "邮箱"]
    rows = [[c for i, c in enumerate(r) if JINSHUJU[i] != "邮箱"] for r in JINSHUJU_ROWS]
    folder = drop_dir(settings, "forms")
    (folder / "x.csv").write_bytes(csv_bytes(header, rows, "utf-8-sig"))
    (folder / "good.csv").write_bytes(csv_bytes(JINSHUJU, JINSHUJU_ROWS[:1], "utf-8-sig"))

    manifest = extract("forms", settings)

    expected = f"missing required column 'email' (邮箱/Email Address/Email) in forms/dt={DS}/x.csv"
    assert manifest["file_errors"] == [expected]
    entry = next(e for e in manifest["files"] if e["path"].endswith("/x.csv"))
    assert entry == {"path": f"forms/dt={DS}/x.csv", "table": "forms_submissions", "read": 3, "loaded": 0,
                     "quarantined": 3, "error": expected}  # fmt: skip
    quarantined = by_row(quarantine_rows(settings, "forms_submissions"), "x.csv")
    assert sorted(quarantined) == [1, 2, 3]
    assert {q["reason"] for q in quarantined.values()} == {expected}
    assert json.loads(quarantined[1]["raw_content"])["姓名"] == "张伟"
    # The other file of the drop still loads.
    assert sorted(by_row(raw_rows(settings, "forms_submissions"), "good.csv")) == [1]
    assert_accounting(manifest)


def test_a_tool_entry_without_a_submitted_at_column_quarantines_its_files_with_the_reason(settings, monkeypatch):
    # "Add a tool by adding an entry" (formats.py): an entry whose export has no submission time used to pass
    # the file check and fail the whole extract with KeyError: 'submitted_at' on its first row.
    from intent_pipeline.sources.forms import formats

    columns = {"Response": "submission_id", "Survey": "form_name", "Name": "full_name", "E-mail": "email",
               "Mobile": "phone"}  # fmt: skip
    monkeypatch.setitem(formats.FORM_FORMATS, "survey_tool", {"columns": columns})
    folder = drop_dir(settings, "forms")
    (folder / "survey.csv").write_bytes(
        csv_bytes(list(columns), [["r1", "NPS", "Ann Wu", "ann@example.com", ""], ["r2", "NPS", "Bo", "", "138"]])
    )
    (folder / "good.csv").write_bytes(csv_bytes(JINSHUJU, JINSHUJU_ROWS[:1], "utf-8-sig"))

    manifest = extract("forms", settings)

    expected = (
        f"missing required column 'submitted_at' (提交时间/Submitted At/Conversion date) in forms/dt={DS}/survey.csv"
    )
    assert manifest["file_errors"] == [expected]
    quarantined = by_row(quarantine_rows(settings, "forms_submissions"), "survey.csv")
    assert sorted(quarantined) == [1, 2] and {q["reason"] for q in quarantined.values()} == {expected}
    assert sorted(by_row(raw_rows(settings, "forms_submissions"), "good.csv")) == [1]
    assert_accounting(manifest)


def test_a_required_column_spelt_as_the_column_map_reads_it_is_not_missing(settings):
    # The file check and the rows are read with one ColumnMap: "Submitted_At" fills submitted_at (as
    # "Job_Title" fills job_title), so the file loads instead of being quarantined whole as missing it.
    header = [("Submitted_At" if h == "Submitted At" else h) for h in TYPEFORM]
    (drop_dir(settings, "forms") / "typeform.csv").write_bytes(csv_bytes(header, TRUNCATED_ROWS))

    manifest = extract("forms", settings)

    assert manifest["file_errors"] == []
    loaded = by_row(raw_rows(settings, "forms_submissions"), "typeform.csv")
    assert loaded[1]["submitted_at"] == datetime(2026, 11, 21, 8, 0, 0)
    assert manifest["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0}
    assert_accounting(manifest)


def test_unrecognised_header_and_undecodable_file(settings):
    folder = drop_dir(settings, "forms")
    (folder / "survey.csv").write_bytes(csv_bytes(["Question", "Answer", "When"], [["q1", "a1", "today"]]))
    broken = csv_bytes(
        TYPEFORM, [["tf-9", "Book a Demo", "X", "x@example.com", "", "", "", "", "", "2026-11-21", "", ""]]
    )
    (folder / "broken.csv").write_bytes(broken + b"\xff\x80 not text\r\n")

    manifest = extract("forms", settings)

    errors = manifest["file_errors"]
    assert len(errors) == 2
    assert any("unrecognised header set" in e and f"forms/dt={DS}/survey.csv" in e for e in errors)
    assert any("undecodable" in e and f"forms/dt={DS}/broken.csv" in e for e in errors)
    quarantined = quarantine_rows(settings, "forms_submissions")
    assert sorted((q["_source_file"].rsplit("/", 1)[1], q["_row_number"]) for q in quarantined) == [
        ("broken.csv", 1), ("broken.csv", 2), ("survey.csv", 1),
    ]  # fmt: skip
    assert raw_rows(settings, "forms_submissions") == []
    assert_accounting(manifest)


def test_empty_file_loads_nothing_and_rows_without_a_header_are_quarantined(settings):
    # Both used to fail the extract with KeyError: None (no form tool for an empty header row).
    folder = drop_dir(settings, "forms")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "headless.csv").write_bytes(b",,\r\nq1,a1,today\r\n")

    manifest = extract("forms", settings)

    assert manifest["file_errors"] == [f"no header row in forms/dt={DS}/headless.csv"]
    quarantined = quarantine_rows(settings, "forms_submissions")
    assert [(q["_source_file"].rsplit("/", 1)[1], q["_row_number"]) for q in quarantined] == [("headless.csv", 1)]
    assert raw_rows(settings, "forms_submissions") == []
    assert_accounting(manifest)


TRUNCATED_ROWS = [
    ["tc-1", "Book a Demo", "Ann Wu", "ann@example.com", "", "Acme", "", "", "", "2026-11-21T08:00:00Z", "", "11.22"],
    ["tc-2", "Book a Demo", "Bo Yu", "bo@example.com", "", "Beta", "", "", "", "2026-11-21T09:00:00Z", "", "33.44"],
]  # fmt: skip


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        # the download stopped inside a quoted field (the company name written with quotes)
        (b'tc-3,Book a Demo,Cy Ho,cy@example.com,,"Gamma, In', "ends inside a quoted field"),
        # ... or outside quotes: a short last row without a line break (it would load lead_source 'goo')
        (b"tc-3,Book a Demo,Cy Ho,cy@example.com,,Gamma,,,,2026-11-21T10:00:00Z,goo", "the last line has 11 of 12"),
    ],
    ids=["inside-quotes", "between-fields"],
)
def test_a_truncated_csv_loads_its_complete_rows_and_quarantines_the_cut_tail(settings, cut, reason):
    whole = csv_bytes(TYPEFORM, TRUNCATED_ROWS)
    (drop_dir(settings, "forms") / "typeform.csv").write_bytes(whole + cut)

    for _ in range(2):  # a re-run of the interval replaces its partitions: nothing duplicated or dropped
        manifest = extract("forms", settings)

        assert_accounting(manifest)
        assert manifest["tables"]["forms_submissions"] == {"read": 3, "loaded": 2, "quarantined": 1}
        assert manifest["file_errors"] == []
        assert any("cut short" in w and "typeform.csv" in w for w in manifest["warnings"]), manifest["warnings"]
        loaded = by_row(raw_rows(settings, "forms_submissions"), "typeform.csv")
        assert sorted(loaded) == [1, 2] and loaded[2]["client_id"] == "33.44"
        (tail,) = quarantine_rows(settings, "forms_submissions")
        assert tail["_row_number"] == 3 and reason in tail["reason"], tail
        assert "tc-3" in tail["raw_content"]


def test_a_csv_with_stray_quotes_cjk_and_crlf_is_read_leniently_as_the_erasure_rewrite_reads_it(settings):
    """A quoted value followed by more text (``"VP" 销售``: the strict read refuses it, Excel reads it) sends
    the file to the lenient read, by the one record reader (tabular._records) that csv_record_texts (the
    erasure rewrite of a landing file) uses too: both tell the same records apart with the same values, a
    quote inside a field (``5" 屏幕``) kept, CJK and CRLF line ends as written."""
    from intent_pipeline.sources.tabular import csv_record_texts

    lines = [
        ",".join(TYPEFORM),
        'tc-1,预约演示,张伟,zhang.wei@example.cn,,上海示例,"VP" 销售,,,2026-11-21T08:00:00Z,,',
        'tc-2,Book a Demo,Bo Yu,bo@example.com,,Acme 5" 屏幕,,,,2026-11-21T09:00:00Z,,33.44',
    ]
    content = "\r\n".join(lines) + "\r\n"
    (drop_dir(settings, "forms") / "typeform.csv").write_bytes(content.encode("utf-8"))

    manifest = extract("forms", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0}
    loaded = by_row(raw_rows(settings, "forms_submissions"), "typeform.csv")
    assert (loaded[1]["full_name"], loaded[1]["job_title"]) == ("张伟", "VP 销售")
    assert (loaded[2]["company"], loaded[2]["client_id"]) == ('Acme 5" 屏幕', "33.44")
    texts = csv_record_texts(content, ",")
    assert [record[6] for record, _ in texts[1:]] == ["VP 销售", ""]
    assert [record[5] for record, _ in texts[1:]] == ["上海示例", 'Acme 5" 屏幕']
    assert "".join(text for _, text in texts) == content  # every record's text as written, CRLF kept
