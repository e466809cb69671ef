"""Every kind of chat message, per vendor and language, rendered from one fixed fixture and compared
with its expected request body (golden files, ``tests/activation/golden/<vendor>.json``); and the
digests parsed as Markdown: a list with one item per lead.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 python -m pytest
tests/activation/test_golden_messages.py`` and review the diff: it is the change the salespeople see.

Markdown parsers used: markdown-it-py (CommonMark, installed). Python-Markdown is not installed, so
its rule (and Markdown.pl's, which DingTalk's renderer follows: a list starts only after a blank
line, or it is a paragraph's continuation) is checked on the text itself.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from intent_pipeline.activation.chat import ALERT_KINDS, DIGEST_KINDS, KINDS, LANGUAGES, chat_fields
from intent_pipeline.activation.dingtalk import DingTalkConfig
from intent_pipeline.activation.feishu import FeishuConfig
from intent_pipeline.activation.ledger import DEFERRED
from intent_pipeline.activation.segments import STALL, Planned
from intent_pipeline.activation.slack import SlackConfig
from intent_pipeline.activation.wecom import WeComConfig

from tests.activation.chat_vendors import VENDORS
from tests.activation.conftest import make_stall

GOLDEN = Path(__file__).with_name("golden")
CRM_LINK = "https://crm.example.com/leads/{crm_lead_id}"
CONFIGS = {
    "dingtalk": lambda **kw: DingTalkConfig("https://oapi.dingtalk.com/robot/send", access_token="token", **kw),
    "wecom": lambda **kw: WeComConfig("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", key="key", **kw),
    "feishu": lambda **kw: FeishuConfig("https://open.feishu.cn/open-apis/bot/v2/hook/token", **kw),
    "slack": lambda **kw: SlackConfig("https://hooks.slack.com/services/T0/B0/secret", **kw),
}


def lead_row(person_id: str, **fields) -> dict:
    row = {
        "person_id": person_id, "full_name": "张伟", "company": "上海云智科技有限公司", "job_title": "采购总监",
        "email": "zhang.wei@yunzhi.cn", "phone": "+8613912345678", "lead_score": 75, "grade": "high_intent",
        "score_reasons": "trial request +30, pricing page +15, director or above +20",
        "score_reasons_zh": "申请试用 +30，价格页 +15，总监及以上 +20", "owner": "李娜",
        "crm_lead_id": "00Q5g000001AbCd",
        "became_hot_in_interval": True, "alert_round": 0, "recycled_from_owner": None, "in_segment": True,
    }  # fmt: skip
    row.update(fields)
    return row


def reassigned_row(person_id: str, **fields) -> dict:
    return lead_row(person_id, **{"owner": "王磊", "recycled_from_owner": "李娜", "alert_round": 1,
                                  "recycled_in_interval": True, "became_hot_in_interval": False,
                                  "crm_lead_id": None, **fields})  # fmt: skip


def stall_row(person_id: str, **fields) -> dict:
    defaults = {"company": "深圳智造有限公司", "owner": "李娜", "lead_score": 72, "crm_lead_id": "00Q5g000002XyZw",
                "stalled_at": datetime(2026, 11, 21, 6)}  # fmt: skip
    row = make_stall(person_id, **{**defaults, **fields})
    row["alert_kind"] = STALL
    return row


# One fixed fixture per kind: a single alert, or the alerts of a digest (hottest first in the text).
FIXTURE = {
    "hot_lead": [lead_row("p1")],
    "reassigned": [reassigned_row("p2")],
    # 72.0003 h in Proposal, limit 72 h: "just over 72 h", never "more than 72 h (72 h so far)"
    "stall": [stall_row("s1", hours=72.0003)],
    "digest": [
        lead_row("p1"),
        lead_row("p3", full_name="Amy Chen", company="Acme Retail", lead_score=81, owner="Kevin Zhang",
                 email="amy@acme-retail.com", crm_lead_id=None),
    ],
    "reassigned_digest": [
        reassigned_row("p2"),
        reassigned_row("p4", full_name="刘芳", company="北京数联", lead_score=66, owner="黄敏",
                       recycled_from_owner="刘洋"),
    ],
    "stall_digest": [
        stall_row("s1", hours=72.0003),
        stall_row("s2", hours=96.57, lead_score=80, full_name="赵强", company="杭州云栖"),
    ],
}  # fmt: skip


def destination(name: str, **config):
    return VENDORS[name].destination(CONFIGS[name](**{"crm_link": CRM_LINK, "digest_over": 1, **config}))


def body(name: str, kind: str, lang: str, **config) -> dict:
    """The request body the vendor's destination builds for the kind's fixture (a digest when the
    fixture has more than one alert: digest_over is 1)."""
    dest = destination(name, language=lang, **config)
    rows = FIXTURE[kind]
    items = [Planned(key=str(i), fields=dest.map_fields(row), hash="", row=row) for i, row in enumerate(rows)]
    bodies = dest.bodies(items)
    assert len(bodies) == 1
    return bodies[0][0]


def golden(name: str) -> dict:
    path = GOLDEN / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_every_kind_of_message_matches_its_golden_file(name):
    rendered = {kind: {lang: body(name, kind, lang) for lang in LANGUAGES} for kind in KINDS}
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(rendered, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    expected = golden(name)
    assert sorted(expected) == sorted(KINDS), f"{path} lacks kinds: UPDATE_GOLDEN=1 and review the diff"
    for kind in KINDS:
        for lang in LANGUAGES:
            assert rendered[kind][lang] == expected[kind][lang], (kind, lang)


def visible(name: str, message: dict) -> str:
    return VENDORS[name].text(message)


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_each_kind_has_its_own_title_and_says_what_happened(name):
    texts = {kind: visible(name, body(name, kind, "zh")) for kind in KINDS}
    assert "新的高意向线索" in texts["hot_lead"] and "新的高意向线索" not in texts["reassigned"]
    assert "已由李娜转给王磊" in texts["reassigned"] and "由王磊" not in texts["reassigned"]
    assert "由李娜转给王磊（超时未跟进）" in texts["reassigned_digest"].replace("*", "")
    assert "由刘洋转给黄敏（超时未跟进）" in texts["reassigned_digest"].replace("*", "")
    # the stall's real duration: just over the limit, not "72 h so far" under "more than 72 hours"
    assert "超过72小时未推进（刚超过72小时）" in texts["stall"] and "已72小时" not in texts["stall"]
    assert "（已96.5小时）" in texts["stall_digest"]
    english = visible(name, body(name, "stall", "en"))
    assert "(just over 72 h)" in english
    titles = {kind: texts[kind].split("\n")[0] for kind in KINDS}
    assert len(set(titles.values())) == len(KINDS), titles


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_company_score_reasons_and_owner_are_named_and_contacts_masked_by_default(name):
    text = visible(name, body(name, "hot_lead", "zh")).replace("*", "")
    for shown in ("上海云智科技有限公司", "75", "申请试用 +30", "李娜"):
        assert shown in text
    assert "zhang.wei@yunzhi.cn" not in text and "13912345678" not in text and "张伟" not in text
    assert "z＊＊＊@yunzhi.cn" in text and "＊＊＊5678" in text and "张＊" in text
    full = visible(name, body(name, "hot_lead", "zh", contact_details="full"))
    assert "zhang.wei@yunzhi.cn" in full and "+8613912345678" in full and "张伟" in full
    none = visible(name, body(name, "hot_lead", "zh", contact_details="none"))
    assert "yunzhi.cn" not in none and "5678" not in none and "张" not in none and "联系人" not in none
    assert "上海云智科技有限公司" in none and "李娜" in none
    digest = visible(name, body(name, "digest", "zh", contact_details="none"))
    assert "张" not in digest and "Amy" not in digest and "Acme Retail" in digest


MENTIONS = {  # how each vendor's text mentions 李娜 (seeds/sales_teams.csv)
    "dingtalk": "@13800000003",
    "wecom": "<@sales70003>",
    "feishu": "<at id=ou_sample70003></at>",
    "slack": "<@U0SAMPLE70003>",
}


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_the_owner_is_mentioned_the_vendor_s_way(name):
    message = body(name, "hot_lead", "zh")
    assert f"李娜 {MENTIONS[name]}" in visible(name, message)
    if name == "dingtalk":  # DingTalk notifies only the mobiles in at.atMobiles, never everyone
        assert message["at"] == {"isAtAll": False, "atMobiles": ["13800000003"]}
    digest = body(name, "digest", "zh")
    assert MENTIONS[name] in visible(name, digest)
    if name == "dingtalk":
        assert digest["at"]["atMobiles"] == ["13800000002", "13800000003"]  # Kevin Zhang's lead is hotter
    # an owner the seed has no id for is named, not mentioned
    dest = destination(name)
    fields = dest.map_fields(lead_row("p9", owner="王经理"))
    plain = visible(name, dest.message_body(fields, "zh"))
    assert "王经理" in plain and "@1380" not in plain and "<@" not in plain and "<at" not in plain


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_a_crm_link_when_the_record_id_is_known(name):
    text = visible(name, body(name, "hot_lead", "zh"))
    assert "https://crm.example.com/leads/00Q5g000001AbCd" in text
    assert "https://crm.example.com/leads/" not in visible(name, body(name, "reassigned", "zh"))  # no record id
    assert "crm.example.com" not in visible(name, body(name, "hot_lead", "zh", crm_link=None))


def test_a_crm_link_template_is_checked():
    from intent_pipeline.activation.config import ActivationConfigError

    for bad in ("crm.example.com/{crm_lead_id}", "https://crm.example.com/{id}", "https://x/{crm_lead_id}/{x}"):
        with pytest.raises(ActivationConfigError, match="crm_link"):
            CONFIGS["dingtalk"](crm_link=bad)
    with pytest.raises(ActivationConfigError, match="contact_details"):
        CONFIGS["slack"](contact_details="partial")


# --- digests are lists in every vendor's markdown --------------------------------------------------


def digest_text(name: str, kind: str) -> str:
    message = body(name, kind, "zh")
    return {"dingtalk": lambda m: m["markdown"]["text"], "wecom": lambda m: m["markdown"]["content"],
            "feishu": lambda m: m["card"]["elements"][0]["content"],
            "slack": lambda m: m["blocks"][0]["text"]["text"]}[name](message)  # fmt: skip


MARKDOWN_VENDORS = ("dingtalk", "wecom", "feishu")  # Slack's mrkdwn has no list syntax: "•" lines


@pytest.mark.parametrize("kind", list(DIGEST_KINDS.values()))
@pytest.mark.parametrize("name", MARKDOWN_VENDORS)
def test_a_digest_is_a_list_in_commonmark(name, kind):
    from markdown_it import MarkdownIt

    text = digest_text(name, kind)
    tokens = MarkdownIt("commonmark").parse(text)
    items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == len(FIXTURE[kind]), text
    assert sum(1 for t in tokens if t.type == "bullet_list_open") == 1


@pytest.mark.parametrize("kind", list(DIGEST_KINDS.values()))
@pytest.mark.parametrize("name", MARKDOWN_VENDORS)
def test_a_digest_list_starts_after_a_blank_line_as_python_markdown_needs(name, kind):
    lines = digest_text(name, kind).split("\n")
    for index, line in enumerate(lines):
        if re.match(r"^[-*+] ", line):
            before = lines[index - 1]
            assert before == "" or re.match(r"^[-*+] ", before), (index, lines)
        elif index and re.match(r"^[-*+] ", lines[index - 1]):
            assert line == "", f"a paragraph right after a list item is read as part of it: {lines}"


def test_a_cut_digest_ends_with_and_n_more_outside_the_list():
    from markdown_it import MarkdownIt

    dest = destination("dingtalk", language="zh")
    rows = [lead_row(f"p{i:03d}", lead_score=60 + i % 40, company=f"公司{i:03d}" * 8) for i in range(200)]
    items = [Planned(key=str(i), fields=dest.map_fields(row), hash="", row=row) for i, row in enumerate(rows)]
    text = dest.bodies(items)[0][0]["markdown"]["text"]
    assert "还有" in text
    tokens = MarkdownIt("commonmark").parse(text)
    last_paragraph = [t for t in tokens if t.type == "inline"][-1].content
    assert last_paragraph.startswith("… 还有"), last_paragraph
    assert not any(t.type == "inline" and "还有" in t.content and t.level > 2 for t in tokens)


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_a_digest_has_one_line_per_alert_of_one_kind(name):
    dest = destination(name, language="zh")
    rows = [lead_row("p1"), reassigned_row("p2"), stall_row("s1", hours=80.0)]
    items = [Planned(key=str(i), fields=dest.map_fields(row), hash="", row=row) for i, row in enumerate(rows)]
    bodies = dest.bodies(items)
    assert [len(alerts) for _, alerts in bodies] == [1, 1, 1]  # one digest per kind
    texts = [visible(name, b) for b, _ in bodies]
    assert "1条新的高意向线索" in texts[0] and "超时转交" in texts[1] and "停滞" in texts[2]


def test_alert_kinds_follow_the_row():
    assert chat_fields(lead_row("p1"))["kind"] == "hot_lead"
    assert chat_fields(reassigned_row("p2"))["kind"] == "reassigned"
    assert chat_fields(stall_row("s1"))["kind"] == "stall"
    assert ALERT_KINDS == ("hot_lead", "reassigned", "stall") and DEFERRED
