"""Values are data, never markup: the hostile corpus (``hostile_values.json``) in every field of every
kind of message of every chat robot, and in the CSV cells a CRM export could open in a spreadsheet."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from intent_pipeline.activation.escape import csv_safe, markdown_text, slack_text
from intent_pipeline.activation.hubspot import contact_properties
from intent_pipeline.activation.salesforce.bulk import csv_line, read_csv
from intent_pipeline.activation.salesforce.collections import lead_fields

from tests.activation.conftest import INTERVAL_START
from tests.activation.hostile import DESTINATIONS, Case, body_of, cases, corpus, injection, lead_row, signature, texts

ISSUE_COMPANY = "【客户A】**bold** [click](http://evil.example/c) <at id=all></at>"


@pytest.mark.parametrize("vendor", sorted(DESTINATIONS))
def test_no_hostile_value_adds_markup_to_a_message(vendor):
    tried, found = 0, []
    for case in cases():
        if case.vendor != vendor or case.lang != "zh":  # English: bench/robustness_activation.py
            continue
        tried += 1
        why = injection(case)
        if why:
            found.append((case.kind, case.field, case.why, why))
    assert tried > 1000
    assert found == []


@pytest.mark.parametrize("vendor", sorted(DESTINATIONS))
def test_the_detector_sees_markup_a_value_would_bring(vendor, monkeypatch):
    """The check above can fail: with the escaping turned off, the issue's company is markup again."""
    from intent_pipeline.activation import chat, escape

    monkeypatch.setitem(escape.ESCAPES, vendor, lambda text: text)
    monkeypatch.setattr(chat, "escaped_view", lambda fields, lang, *_: chat.lead_view(fields, lang))
    assert injection(Case(vendor, "hot_lead", "zh", "company", "issue", ISSUE_COMPANY)) is not None


@pytest.mark.parametrize("vendor", sorted(DESTINATIONS))
def test_the_issue_company_reads_as_text(vendor):
    body = body_of(vendor, "hot_lead", "zh", lead_row(company=ISSUE_COMPANY, profile_url=None))
    text = "\n".join(texts(vendor, body))
    assert "<at" not in text and "**bold**" not in text and "http://" not in text
    if vendor != "slack":  # Slack's mrkdwn has no [text](url) links (its own <url|text> is "<" above)
        assert "](http" not in text
    assert "客户A" in text and "bold" in text and "click" in text  # the value is still there, as text
    plain = body_of(vendor, "hot_lead", "zh", lead_row(company="客户A", profile_url=None))
    assert signature(vendor, body) == signature(vendor, plain)


def test_escaping_keeps_addresses_and_ordinary_text():
    assert markdown_text("zhang.wei@example.com") == "zhang.wei@example.com"
    assert markdown_text("@所有人") == "＠所有人"
    assert markdown_text("上海云智科技有限公司 (Shanghai)") == "上海云智科技有限公司 (Shanghai)"
    assert markdown_text("a\nb\r\nc\u2028d") == "a b c d"
    assert slack_text("A&B <!channel> *x*") == "A&amp;B &lt;!channel&gt; ＊x＊"
    assert markdown_text("x\ud83d") == "x\ufffd"


INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


@pytest.mark.parametrize("escape", [markdown_text, slack_text])
def test_zero_width_and_bidi_controls_are_dropped_and_emoji_kept(escape):
    """A value cannot hide or reorder text with invisible characters; CJK and emoji (joined ones too) stay."""
    for char in INVISIBLE:
        assert escape(f"客户{char}A{char}") == "客户A", hex(ord(char))
    assert escape("@\u200ball") == "＠all"  # a zero-width space does not smuggle a mention past the guard
    family, woman_tech = "👨\u200d👩\u200d👧", "👩🏽\u200d💻"  # ZWJ emoji sequences: the joiner stays
    assert escape(f"张伟 {family} {woman_tech} ❤\ufe0f 株式会社") == f"张伟 {family} {woman_tech} ❤\ufe0f 株式会社"
    assert escape("a\u200d👩 👩\u200db") == "a👩 👩b"  # a joiner next to no emoji is dropped


ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # black flag, tags g b e n g, cancel


@pytest.mark.parametrize("escape", [markdown_text, slack_text])
def test_every_invisible_format_character_is_dropped_but_a_tag_sequence_flag_is_kept(escape):
    """Invisible is Unicode Cf (normalize.invisible, the ids' rule too), not a hand list: the word joiner, the
    Mongolian vowel separator and the Arabic letter mark go as a zero-width space does; a flag written as a
    tag sequence keeps its tags (without them it would show a plain black flag), and stray tags go."""
    for char in "\u2060\u180e\u061c\u00ad\U000e0001\U000e0067":
        assert escape(f"客户{char}A{char}") == "客户A", hex(ord(char))
    assert escape(f"Leeds {ENGLAND} fan") == f"Leeds {ENGLAND} fan"
    assert escape(f"{ENGLAND[:-1]} x") == "\U0001f3f4 x"  # no cancel tag: no tag sequence, the tags go
    assert escape("❤\ufe0f🏳\ufe0f\u200d🌈") == "❤\ufe0f🏳\ufe0f\u200d🌈"  # variation selectors are Mn, kept


def test_slack_sections_are_verbatim():
    """Slack links URLs and parses mentions in plain text unless the text object is verbatim."""
    body = body_of("slack", "hot_lead", "zh", lead_row(company="@channel www.evil.example"))
    assert all(block["text"]["verbatim"] is True for block in body["blocks"])


def test_csv_cells_never_run_a_formula_nor_null_a_field():
    for item in corpus()["csv"]:
        assert csv_safe(item["value"]) == item["expect"], item
        assert csv_safe(item["expect"]) == item["expect"]  # idempotent: a cell is never prefixed twice


def test_bulk_csv_carries_hostile_values_as_text():
    values = [item["value"] for item in corpus()["csv"]]
    text = "Email,Company\n" + "".join(csv_line([f"p{i}@example.com", v]) for i, v in enumerate(values))
    rows = read_csv(text)
    assert [row["Company"] for row in rows] == [item["expect"] for item in corpus()["csv"]]
    assert all(row["Company"] != "#N/A" and not row["Company"].startswith(("=", "@", "\t", "\r")) for row in rows)


def test_crm_fields_neutralise_formulas_but_keep_phones_and_emails():
    row = lead_row(company="=HYPERLINK(\"http://evil.example\",\"x\")", job_title="#N/A", phone="+86 138 0013 8000",
                   full_name="+cmd|' /C calc'!A0 Smith", lead_score=75, grade="high_intent")  # fmt: skip
    hubspot = contact_properties(row)
    salesforce = lead_fields(row)
    for fields, company, title, phone in ((hubspot, "company", "jobtitle", "phone"),
                                          (salesforce, "Company", "Title", "Phone")):  # fmt: skip
        assert fields[company].startswith("'=HYPERLINK") and fields[title] == "'#N/A"
        assert fields[phone] == "+86 138 0013 8000"
    assert hubspot["email"] == salesforce["Email"] == "zhang.wei@example.com"
    assert hubspot["firstname"].startswith("'+cmd")


def test_a_hostile_lead_reaches_each_fake_robot_as_text(settings, fake_time):
    """End to end over HTTP: the robots' fakes receive the escaped message (and Slack's verbatim flag)."""
    from intent_pipeline.activation import run_destination
    from intent_pipeline.activation.ledger import Ledger
    from intent_pipeline.activation.segments import read_segment

    from tests.activation.chat_vendors import VENDORS
    from tests.activation.conftest import write_segment

    row = {**lead_row(company=ISSUE_COMPANY), "industry": None, "crm_lead_id": None, "grade": "high_intent",
           "became_hot_in_interval": True, "scored_at": None}  # fmt: skip
    write_segment(settings.warehouse, [row])
    rows = read_segment(settings.warehouse)
    for name, vendor in VENDORS.items():
        with vendor.server(fake_time) as server, Ledger(settings.ledger_path) as ledger:
            destination = vendor.destination(vendor.config(server), sleep=fake_time.sleep, clock=fake_time.clock)
            report = run_destination(destination, rows, ledger, f"run-{name}", INTERVAL_START, settings.outbox_dir)
            assert report["sent_ok"] == 1, (name, report)
            (message,) = server.messages
        plain = body_of(name, "hot_lead", "zh", {**rows[0], "company": "客户A"})
        assert "<at id=all>" not in vendor.text(message)
        assert signature(name, message) == signature(name, plain), name


# Any text at all: the escaped value holds nothing a robot's renderer reads as markup.
MARKDOWN_MARKUP = re.compile(r"[*\[\]<>|&#$~`\\\n]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|(?<![0-9A-Za-z._%+\-])(?<!＊＊＊)@|://")
SLACK_MARKUP = re.compile(
    r"[*<>~`\n]|&(?!(?:amp|lt|gt);)|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|(?<![0-9A-Za-z._%+\-])(?<!＊＊＊)@|://"
)


def _no_controls(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in text)


@examples(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_escaped_for_markdown_holds_no_markup(value):
    text = markdown_text(value)
    assert MARKDOWN_MARKUP.search(text) is None and _no_controls(text)
    text.encode("utf-8")  # always sendable


@examples(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_escaped_for_slack_holds_no_markup(value):
    text = slack_text(value)
    assert SLACK_MARKUP.search(text) is None and _no_controls(text)
    text.encode("utf-8")


@examples(max_examples=300, deadline=None)
@given(st.text())
def test_any_csv_cell_neither_runs_nor_nulls(value):
    cell = csv_safe(value)
    assert cell.strip().upper() != "#N/A"
    assert not cell.startswith(("=", "@", "\t", "\r", "\n")) or cell == value == ""
    assert cell in (value, "'" + value)  # nothing else changes
