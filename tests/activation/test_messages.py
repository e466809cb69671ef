"""The chat alerts' texts: one template per kind of message, each vendor's markup, the Chinese
catalogue (``activation/locale/zh_CN/LC_MESSAGES/messages.po``) and what every message says."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from intent_pipeline.activation.chat import (
    CATALOGUES,
    KINDS,
    LANGUAGES,
    SOURCE_LANGUAGE,
    TEMPLATES,
    catalogue_path,
    chat_fields,
    messages,
)
from intent_pipeline.activation.config import ActivationConfigError
from intent_pipeline.activation.segments import STALL
from jinja2.ext import babel_extract

from tests.activation.chat_vendors import VENDORS
from tests.activation.conftest import make_stall

TRANSLATED = sorted(CATALOGUES)
HOT_LEAD_SENTENCE = "您有一条新的高意向线索【客户A】，意向分75，请立即跟进！"


def template_msgids() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the templates look up, as Babel extracts them."""
    found = set()
    for path in sorted(TEMPLATES.rglob("*.j2")):
        for _line, msgid, _comments, context in extract_from_file(
            babel_extract, str(path), options={"newstyle_gettext": "true", "silent": "false"}
        ):
            found.add((context, msgid))
    return found


def catalogue(lang: str):
    with catalogue_path(lang).open("rb") as po:
        return read_po(po, locale=CATALOGUES[lang])


def test_the_templates_are_one_per_kind_and_one_markup_per_vendor():
    names = sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.j2"))
    assert names == sorted(
        ["lead.j2", *(f"{kind}.j2" for kind in KINDS), *(f"markup/{vendor}.j2" for vendor in VENDORS)]
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_of_the_templates_is_translated_and_the_catalogue_has_no_other(lang):
    used = template_msgids()
    assert len(used) > 20, "the extraction found (almost) nothing: is it reading the templates?"
    messages_ = {(m.context, m.id): m for m in catalogue(lang) if m.id}
    untranslated = sorted(key for key in used if key not in messages_ or not messages_[key].string)
    assert not untranslated, f"add these to {catalogue_path(lang)}: {untranslated}"
    fuzzy = sorted(key for key, m in messages_.items() if m.fuzzy)
    assert not fuzzy, f"fuzzy entries are not used (an alert would be in English): {fuzzy}"
    unused = sorted(set(messages_) - used)
    assert not unused, f"no template uses these any more: remove them from {catalogue_path(lang)}: {unused}"
    assert not catalogue(lang).obsolete, "obsolete (#~) entries in the catalogue"
    # a translation's %(name)s placeholders are the msgid's (it may leave some out)
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalogue(lang).check()]
    assert not errors


def make_lead(**overrides) -> dict:
    row = {
        "person_id": "p1", "full_name": "张伟", "company": "客户A", "job_title": "采购总监",
        "email": "zhang@example.com", "phone": "+8613800000000", "lead_score": 75,
        "score_reasons": "trial_request +30; pricing_page +15", "score_reasons_zh": "试用申请 +30；价格页 +15",
        "owner": "王经理", "recycled_from_owner": None, "profile_url": "https://crm.example.com/people/p1",
    }  # fmt: skip
    row.update(overrides)
    return chat_fields(row)


def make_stalled(**overrides) -> dict:
    row = make_stall("p2", company="客户B", job_title="采购总监", owner="李娜", lead_score=83)
    row.update(alert_kind=STALL, profile_url="https://crm.example.com/people/p2", **overrides)
    return chat_fields(row)


def visible_text(vendor, kind: str, lang: str, alert: dict) -> str:
    """What the vendor sends for one alert of ``kind`` (a digest: of it and one cooler alert)."""
    destination = vendor.destination(None)
    if kind in ("hot_lead", "stall", "reassigned"):
        return vendor.text(destination.message_body(alert, lang))
    cooler = {**alert, "person_id": "p9", "company": "其他公司", "lead_score": 1, "job_title": None, "owner": None}
    return vendor.text(destination.digest_body([alert, cooler], lang))


def make_reassigned(**overrides) -> dict:
    return make_lead(**{"alert_round": 1, "recycled_from_owner": "李娜", **overrides})


ALERTS = {"hot_lead": make_lead, "digest": make_lead, "stall": make_stalled, "stall_digest": make_stalled,
          "reassigned": make_reassigned, "reassigned_digest": make_reassigned}  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(VENDORS))
def test_every_message_names_the_company_score_and_owner_and_the_job_title_once(name, kind, lang):
    alert = ALERTS[kind]()
    text = visible_text(VENDORS[name], kind, lang, alert)
    assert alert["company"] in text and str(alert["lead_score"]) in text and alert["owner"] in text
    # beside the contact in an alert (never again on a line of its own); a digest's line leaves it out
    assert text.count("采购总监") == (1 if kind in ("hot_lead", "stall", "reassigned") else 0), text


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_the_chinese_hot_lead_sentence_is_the_same_for_every_vendor(name):
    text = visible_text(VENDORS[name], "hot_lead", "zh", make_lead())
    assert HOT_LEAD_SENTENCE in text
    assert "张伟（采购总监）" in text


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(VENDORS))
def test_no_english_word_is_left_in_a_translated_message(name, kind, lang):
    """Every English word of a message is a msgid: with values without Latin letters, a translated
    message has none either, outside its links."""
    values = {"email": None, "company": "客户甲", **({"opportunity_stage": "方案"} if kind.startswith("stall") else {})}
    text = visible_text(VENDORS[name], kind, lang, ALERTS[kind](**values))
    # outside its links and the owner's mention (an id: <@U…>, <at id=ou_…></at>)
    text = re.sub(r"<@[\w-]+>|<at id=[\w-]+></at>", "", re.sub(r"https://[^\s)|>]+", "", text))
    assert not re.search(r"[A-Za-z]", text), text


def test_english_is_the_msgids_themselves():
    assert SOURCE_LANGUAGE not in CATALOGUES and SOURCE_LANGUAGE in LANGUAGES
    text = visible_text(VENDORS["dingtalk"], "hot_lead", "en", make_lead())
    assert "You have a new high-intent lead **客户A**, intent score 75. Please follow up now!" in text
    assert "- Contact: 张伟 (采购总监)" in text


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_an_unknown_language_fails_clearly(name):
    with pytest.raises(ActivationConfigError, match=r"language 'fr'.*\('zh', 'en'\)"):
        VENDORS[name].destination(None).message_body(make_lead(), "fr")
    with pytest.raises(ActivationConfigError, match="language 'zh_TW'"):
        messages(name, "digest", "zh_TW")
