"""The hostile corpus (``hostile_values.json``) rendered by every chat robot, and how a test tells
markup that a value brought into a message from the message's own.

A message's *markup signature* counts everything a robot's renderer could read as markup (line
breaks, emphasis characters, brackets, ``](``, ``<``, an ``@`` starting a word, ``://``, ``www.``,
control characters). A value is rendered in one field of a lead (or a stall) and compared with the
same message rendered with the plain value ``XQX`` in that field: any difference is markup the value
brought. Used by ``test_hostile_values.py`` and ``bench/robustness_activation.py``.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from intent_pipeline.activation.chat import DIGEST_TOP_REASONS, _reasons, chat_fields
from intent_pipeline.activation.dingtalk import DingTalkDestination
from intent_pipeline.activation.feishu import FeishuDestination
from intent_pipeline.activation.slack import SlackDestination
from intent_pipeline.activation.wecom import WeComDestination

from tests.activation.chat_vendors import element_text

CORPUS = Path(__file__).with_name("hostile_values.json")
PLAIN = "XQX"
DESTINATIONS = {
    "dingtalk": DingTalkDestination,
    "wecom": WeComDestination,
    "feishu": FeishuDestination,
    "slack": SlackDestination,
}
# The fields a value can reach in an alert: a lead's, and a stall's own.
LEAD_FIELDS = ("company", "full_name", "job_title", "email", "phone", "owner", "recycled_from_owner",
               "score_reasons", "score_reasons_zh")  # fmt: skip
STALL_FIELDS = ("stall_reason", "stall_reason_zh", "opportunity_stage")
KINDS = ("hot_lead", "reassigned", "stall", "digest", "reassigned_digest", "stall_digest")
LANGUAGES = ("zh", "en")

CONTROL_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")  # control, format (bidi), line/paragraph separators, surrogates
# an "@" starting a word; a masked address's "＊＊＊@" (privacy.mask, "*" written full-width) is none
_MENTION = r"(?<![0-9A-Za-z._%+\-])(?<!＊＊＊)@"
MARKDOWN_TOKENS = {
    "line break": r"\n",
    "emphasis": r"[*~`]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])",  # snake_case is no emphasis
    "bracket": r"[\[\]]",
    "link": r"\]\(",
    "image": r"!\[",
    "angle": r"[<>]",
    "pipe": r"\|",
    "entity": r"&",
    "hash": r"#",
    "dollar": r"\$",
    "backslash": r"\\",
    "mention": _MENTION,
    "url": r"://",
    "www": r"(?i)\bwww\.",
}
SLACK_TOKENS = {
    "line break": r"\n",
    "emphasis": r"[*~`]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])",  # snake_case is no emphasis
    "angle": r"[<>]",
    "raw ampersand": r"&(?!(?:amp|lt|gt);)",
    "mention": _MENTION,
    "url": r"://",
    "www": r"(?i)\bwww\.",
}


def corpus() -> dict:
    """The corpus: ``chat`` (values for any field), ``urls`` (profile links), ``csv`` (value, expected cell)."""
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def texts(vendor: str, body: dict) -> list[str]:
    """Every text of a request body a robot shows."""
    if vendor == "dingtalk":
        return [body["markdown"]["title"], body["markdown"]["text"]]
    if vendor == "wecom":
        return [body["markdown"]["content"]]
    if vendor == "feishu":
        card = body["card"]
        return [card["header"]["title"]["content"], *map(element_text, card["elements"])]
    return [body["text"], *(block["text"]["text"] for block in body["blocks"])]


def signature(vendor: str, body: dict) -> Counter:
    """How many of each kind of markup token the body's texts hold (see the module docstring)."""
    tokens = SLACK_TOKENS if vendor == "slack" else MARKDOWN_TOKENS
    counts: Counter = Counter()
    for text in texts(vendor, body):
        for name, pattern in tokens.items():
            counts[name] += len(re.findall(pattern, text))
        counts["control"] += sum(1 for c in text if c != "\n" and unicodedata.category(c) in CONTROL_CATEGORIES)
    return counts


def visible(vendor: str, body: dict) -> str:
    """The letters and digits a reader sees (Slack's entities decoded)."""
    text = "\n".join(texts(vendor, body))
    text = html.unescape(text) if vendor == "slack" else text
    return "".join(c for c in text if c.isalnum())


def lead_row(**values) -> dict:
    row = {
        "person_id": "p00001", "full_name": "张伟", "company": "上海云智科技有限公司", "job_title": "销售总监",
        "email": "zhang.wei@example.com", "phone": "+86 138 0013 8000", "owner": "王经理",
        "recycled_from_owner": "李娜", "lead_score": 75, "score_reasons": "trial_request +30; pricing_page +15",
        "score_reasons_zh": "试用申请 +30；价格页 +15", "profile_url": "https://crm.example/people/p00001",
        "consent_crm_sync": True, "consent_chat_alert": True,
    }  # fmt: skip
    row.update(values)
    return row


def stall_row(**values) -> dict:
    row = lead_row(
        stall_id="opportunity_in_proposal:p00001:O1", rule_id="opportunity_in_proposal",
        stall_reason="open opportunity in a proposal stage for more than 72 hours",
        stall_reason_zh="商机在方案/报价阶段超过72小时未推进", opportunity_id="O1", opportunity_stage="Proposal",
        hours_in_stage=96.0, max_hours=72.0, stalled_at=datetime(2026, 11, 21),
    )  # fmt: skip
    row.update(values)
    return row


def body_of(vendor: str, kind: str, lang: str, row: dict) -> dict:
    """The request body ``kind`` of message a robot (outbox mode: no connection) builds for ``row``."""
    destination = DESTINATIONS[vendor](None)
    if "reassigned" in kind:  # a lead recycled after the follow-up SLA: alert round 1
        row = {**row, "alert_round": 1}
    fields = chat_fields(row)
    if kind in ("hot_lead", "reassigned", "stall"):
        return destination.message_body(fields, lang)
    other_row = (stall_row if kind == "stall_digest" else lead_row)(person_id="p00002", lead_score=61)
    other = chat_fields({**other_row, "alert_round": 1} if "reassigned" in kind else other_row)
    return destination.digest_body([fields, other], lang)


@dataclass(frozen=True)
class Case:
    vendor: str
    kind: str
    lang: str
    field: str
    why: str
    value: str


def cases() -> Iterator[Case]:
    """Every hostile value in every field of every kind of message, per robot and language."""
    data = corpus()
    for vendor in DESTINATIONS:
        for kind in KINDS:
            fields = LEAD_FIELDS + (STALL_FIELDS if "stall" in kind else ()) + ("profile_url",)
            for lang in LANGUAGES:
                for field in fields:
                    values = data["urls"] if field == "profile_url" else data["chat"]
                    for item in values:
                        yield Case(vendor, kind, lang, field, item["why"], item["value"])


def row_for(case: Case, value: str) -> dict:
    return (stall_row if "stall" in case.kind else lead_row)(**{case.field: value})


@functools.cache
def _reference(vendor: str, kind: str, lang: str, field: str, value: str) -> tuple[Counter, str]:
    """The signature and visible letters of the message with ``value`` in ``field`` (a plain value)."""
    body = body_of(vendor, kind, lang, row_for(Case(vendor, kind, lang, field, "", ""), value))
    return signature(vendor, body), visible(vendor, body)


def injection(case: Case) -> str | None:
    """What markup ``case.value`` brought into its message, or None: the signature differs from the
    plain value's, or the value's letters are missing where the plain value shows."""
    body = body_of(case.vendor, case.kind, case.lang, row_for(case, case.value))
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # what post_json sends: must encode
    want, plain_letters = _reference(case.vendor, case.kind, case.lang, case.field, PLAIN)
    got = signature(case.vendor, body)
    if case.field == "profile_url":
        # a hostile link is left out: the message has the markup of a message without one, never more
        without, _ = _reference(case.vendor, case.kind, case.lang, case.field, "")
        if got not in (want, without):
            return f"markup {dict((got - want) + (want - got))}"
        return None
    if got != want:
        return f"markup {dict((got - want) + (want - got))}"
    letters = "".join(c for c in case.value if c.isalnum())
    cut = "digest" in case.kind and "reasons" in case.field and len(_reasons(case.value)) > DIGEST_TOP_REASONS
    if PLAIN in plain_letters and not cut and letters not in visible(case.vendor, body):
        return f"the value's text {letters!r} is not in the message"
    return None
