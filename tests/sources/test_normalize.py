"""Value normalisation shared by the extractors."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from intent_pipeline.sources.locale import amount  # one amount parser: locale-aware (tests/sources/test_locale.py)
from intent_pipeline.sources.normalize import BadValue, PhoneNormalizer, email, identifier, integer, timestamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("194-2784-4333", "+8619427844333"),  # a newer mobile range the metadata may not list as valid yet
        ("+1 650 253 0000", "+16502530000"),
        ("12345", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_phones_to_e164(raw, expected):
    assert PhoneNormalizer()(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-21 08:00:00", datetime(2026, 11, 21, 0, 0)),
        ("2026-11-21 08:00", datetime(2026, 11, 21, 0, 0)),
        ("2026/11/21 8:00", datetime(2026, 11, 21, 0, 0)),  # Excel's re-saved CSV
        ("2026-11-21", datetime(2026, 11, 20, 16, 0)),
        ("2026-11-21T08:00:00+08:00", datetime(2026, 11, 21, 0, 0)),
        ("2026-11-21T00:00:00Z", datetime(2026, 11, 21, 0, 0)),
        ("2026-11-20T19:00:00.250-05:00", datetime(2026, 11, 21, 0, 0, 0, 250000)),
        (datetime(2026, 11, 21, 8, 0), datetime(2026, 11, 21, 0, 0)),
        ("", None),
    ],
)
def test_timestamps_to_naive_utc(raw, expected):
    assert timestamp(raw, SHANGHAI) == expected


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-45 25:61:00", "21/11/2026 08:00", "1899-01-01"])
def test_bad_timestamps(raw):
    with pytest.raises(BadValue):
        timestamp(raw, SHANGHAI)


def test_emails_amounts_integers():
    assert email("  Zhang.Wei+News@Example.COM ") == "zhang.wei+news@example.com"  # no provider folding
    assert email("invalid@invalid") == "invalid@invalid"  # dotless domains are syntactically addresses
    assert email(" ") is None
    # typed with a Chinese input method: full-width letters, ＠ and ．, or an ideographic full stop
    assert email("ｚｈｏｕｊｉｅ＠ｑｑ．ｃｏｍ") == email("zhoujie＠qq。com") == "zhoujie@qq.com"
    assert email("张三@例子.中国") == "张三@例子.中国"
    for bad in (
        "c at example.com",
        "a@b@c.com",
        "a@",
        "@example.com",
        "a@example..com",
        "a b@example.com",
        "a＠b＠c.com",
        "a@example。。com",
    ):
        with pytest.raises(BadValue):
            email(bad)
    assert amount("12,500.00") == 12500.0 and amount("¥ 3000") == 3000.0 and amount("") is None
    with pytest.raises(BadValue):
        amount("TBD")
    assert integer("1763683200") == 1763683200 and integer(12.0) == 12 and integer(None) is None
    with pytest.raises(BadValue):
        integer("12.5")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 00Qab1\u00a0", "00Qab1"),  # spaces and a no-break space around it
        ("００Ｑａｂ１", "00Qab1"),  # full-width forms
        ("00QAB1", "00QAB1"),  # case is kept: another Salesforce lead
        ("\u200b00Qab1", "00Qab1"),  # a zero-width space (a copy from a web page)
        ("\ufeff00Qab1\u200d", "00Qab1"),  # a BOM inside the cell, a zero-width joiner
        ("00Q\u00adab1\u200e", "00Qab1"),  # a soft hyphen, a left-to-right mark
        ("", None),
        ("\u3000", None),  # an ideographic space alone
        ("\u200b\ufeff", None),  # invisible characters alone: no id
    ],
)
def test_an_id_is_trimmed_folded_and_stripped_of_invisible_characters(raw, expected):
    assert identifier(raw) == expected
