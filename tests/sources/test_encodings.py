"""Encoding detection that never garbles (issue 14, item 2), through the real extract and lake.

A file is decoded only when the decoding is certain or validated; a doubtful one is rejected whole
(every row quarantined with the reason), never loaded as mojibake.
"""

from __future__ import annotations

import pytest
from intent_pipeline.sources.encoding import DoubtfulEncoding, decode_json_bytes, decode_text

from tests.sources.helpers import DS, assert_accounting, drop_dir, extract, quarantine_rows, raw_rows
from tests.sources.hostile import JINSHUJU, TYPEFORM, csv_bytes, jinshuju_rows, typeform_rows

ROWS = jinshuju_rows(3)  # names 张伟, 李娜, 王芳


def _forms(settings, name: str, data: bytes) -> dict:
    (drop_dir(settings, "forms") / name).write_bytes(data)
    manifest = extract("forms", settings)
    assert_accounting(manifest)
    return manifest


def test_one_latin1_byte_in_a_utf8_file_rejects_the_file_instead_of_garbling_it(settings):
    # 张伟 read as GB18030 after a UTF-8 decode failed used to load as 寮犱紵, with no error.
    data = csv_bytes(JINSHUJU, ROWS).replace("上海示例科技".encode(), "上海示例科技 Caf".encode() + b"\xe9", 1)

    manifest = _forms(settings, "jinshuju.csv", data)

    assert manifest["tables"]["forms_submissions"] == {"read": 3, "loaded": 0, "quarantined": 3}
    [error] = manifest["file_errors"]
    assert f"forms/dt={DS}/jinshuju.csv" in error and "not valid UTF-8: byte 0xE9" in error and "line 2" in error
    quarantined = quarantine_rows(settings, "forms_submissions")
    assert all(row["reason"] == error for row in quarantined)
    # the quarantined text is the UTF-8 reading (a person can read it), not GB18030 mojibake
    assert "张伟" in quarantined[0]["raw_content"] and "寮犱紵" not in quarantined[0]["raw_content"]


def test_a_stray_gbk_lead_byte_glued_to_an_email_rejects_the_file(settings):
    data = csv_bytes(JINSHUJU, ROWS, "gbk").replace(b"user1@", b"\x81user1@")

    manifest = _forms(settings, "jinshuju_gbk.csv", data)

    assert manifest["tables"]["forms_submissions"]["loaded"] == 0
    assert "byte 0x81" in manifest["file_errors"][0] and "stray byte" in manifest["file_errors"][0]
    assert not any("亃" in (row["raw_content"] or "") for row in raw_rows(settings, "forms_submissions"))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_supported_encodings_load_the_same_rows(settings, encoding):
    # utf-16-le/-be: no BOM, told by the NUL pattern of the ASCII digits and commas
    data = csv_bytes(JINSHUJU, ROWS).decode("utf-8").encode(encoding)

    manifest = _forms(settings, "jinshuju.csv", data)

    assert manifest["file_errors"] == []
    assert manifest["tables"]["forms_submissions"] == {"read": 3, "loaded": 3, "quarantined": 0}
    assert sorted(row["full_name"] for row in raw_rows(settings, "forms_submissions")) == ["张伟", "李娜", "王芳"]


def test_excel_unicode_text_export_utf16_tab_separated_counts_its_real_rows(settings):
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated. read used to count 6 rows for 2.
    lines = ["\t".join(TYPEFORM), *("\t".join(row) for row in typeform_rows(2))]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-16")

    manifest = _forms(settings, "typeform.txt.csv", data)

    assert manifest["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0}
    assert {row["email"] for row in raw_rows(settings, "forms_submissions")} == {"tf0@example.com", "tf1@example.com"}


def test_a_legacy_encoding_the_source_does_not_allow_is_refused_with_the_reason():
    with pytest.raises(DoubtfulEncoding, match="cannot determine the encoding"):
        decode_text("Name,Company\r\nJosé Müller,Café\r\n".encode("latin-1"))
    with pytest.raises(DoubtfulEncoding, match="incoherent as GB18030"):
        decode_text("姓名,公司\r\n陳大文,台灣積體電路\r\n".encode("big5"))
    # allowed explicitly, the same bytes decode
    assert decode_text("José,Café\r\n".encode("cp1252"), legacy=("cp1252",)).text == "José,Café\r\n"


def test_json_bodies_are_unicode_only():
    assert decode_json_bytes('[{"a": "张"}]'.encode("utf-16")) == '[{"a": "张"}]'
    assert decode_json_bytes(b'\xef\xbb\xbf[{"a": 1}]') == '[{"a": 1}]'
    with pytest.raises(DoubtfulEncoding, match="JSON must be Unicode"):
        decode_json_bytes('[{"a": "张伟"}]'.encode("gbk"))


def test_text_garbled_before_it_reached_us_is_quarantined_not_loaded(settings):
    # A file that itself holds U+FFFD (an earlier tool lost the character): that row, not the file.
    rows = jinshuju_rows(3)
    rows[1][2] = "李\ufffd"
    manifest = _forms(settings, "jinshuju.csv", csv_bytes(JINSHUJU, rows))

    assert manifest["tables"]["forms_submissions"] == {"read": 3, "loaded": 2, "quarantined": 1}
    [row] = quarantine_rows(settings, "forms_submissions")
    assert row["_row_number"] == 2 and row["reason"].startswith("garbled text in 'full_name': U+FFFD")
