"""Chat destinations that alert a group about newly hot leads: DingTalk, WeCom, Feishu/Lark and Slack.

Shared here: what every robot's settings have (``ChatSettings``; each vendor's config is in its
module), and ``ChatDestination``, what every chat destination has in common:

* a lead is alerted once, ever: when it became hot in the interval, or later while still
  hot if its alert failed (the ledger remembers every acknowledgement);
* a stall (``marts.segment_funnel_stalls``: a person stuck in a funnel stage, e.g. an
  opportunity in Proposal for more than 72 hours) is alerted once, when it became one;
* the digest rule: up to ``digest_over`` alerts (default 20, or the robot's per-minute limit
  if lower) get one message each; more than that get ONE digest message listing the newly hot
  leads (and one listing the stalls, if any), hottest first, cut at the vendor's size limit with
  "… and N more" (the hottest always listed, its line shortened if it must be). The digest
  acknowledges every lead it counts, so 1,000 newly hot leads cost one request, not a flood that
  the robot's rate limit would stretch over an hour.

The vendors differ in URL, signature, body, size limit, rate limit and error codes;
``dingtalk.py``, ``wecom.py``, ``feishu.py`` and ``slack.py`` each hold the robot's config and
implement ``message_body``, ``digest_body``, ``post`` (one request) and ``classify`` (its answer;
the retries are ``http.with_retries``'); the texts inside their bodies are ``ChatDestination.message_text``
and ``ChatDestination.digest_text``, cut at the robot's limit. Texts come from Jinja2 templates in ``templates/``
(``messages``), rendered with ``StrictUndefined``: one per kind of message (``KINDS``: a newly hot
lead, a lead reassigned after the follow-up SLA, a stall, and a digest of each) saying what it
says, once for every robot (``lead.j2``: the field lines, the owner and its mention, the CRM and
profile links, the digest's columns), and one markup file per robot (``markup/<robot>.j2``) saying
how a heading, a bold text, a field line, a list item, a link and a mention are written. What an
alert shows of the lead's contact is the destination's ``contact_details`` (masked by default,
``privacy.mask``); its owner is mentioned by the id ``seeds/sales_teams.csv`` has for the robot.
The words are English msgids (``jinja2.ext.i18n``); Chinese, the default,
comes from the catalogue ``locale/zh_CN/LC_MESSAGES/messages.po``, read with Babel when first
needed (no ``.mo`` to build); English with ``language="en"``. A new or changed msgid needs its
translation in the catalogue (``tests/activation/test_messages.py`` names the missing ones).

Cheap to import: no HTTP client and no Jinja2 or Babel import at module level.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from intent_pipeline.activation.checks import check_at_least, check_http_url
from intent_pipeline.activation.config import (
    ActivationConfigError,
    DestinationRefused,
    _base_url,
    _credential,
    _fingerprint,
    options_from_extra,
)
from intent_pipeline.activation.escape import ELLIPSIS, MAX_VALUE_CHARS, plain_line
from intent_pipeline.activation.http import GaveUp, HttpSender, Outcome, Retry, status_outcome
from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, LedgerEntry
from intent_pipeline.activation.retry import SlidingWindow
from intent_pipeline.activation.segments import History, Planned, is_stall

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
LOCALE = Path(__file__).with_name("locale")
SOURCE_LANGUAGE = "en"  # the msgids: English needs no catalogue
CATALOGUES = {"zh": "zh_CN"}  # language -> its catalogue, locale/<locale>/LC_MESSAGES/messages.po
LANGUAGES = ("zh", SOURCE_LANGUAGE)
# templates/<kind>.j2: an alert of each kind, and the digest of many alerts of one kind
ALERT_KINDS = ("hot_lead", "reassigned", "stall")
DIGEST_KINDS = {"hot_lead": "digest", "reassigned": "reassigned_digest", "stall": "stall_digest"}
KINDS = (*ALERT_KINDS, *DIGEST_KINDS.values())
CONTACT_DETAILS = ("masked", "full", "none")  # what an alert shows of the lead's name, email and phone
DIGEST_OVER = 20  # more newly hot leads than this in one run: one digest message instead
DIGEST_TOP_REASONS = 3  # a digest line shows the lead's first reasons only
# The shortest a value is cut to when an alert overflows its robot's limit (ChatDestination.message_text):
# long enough to still name a company, and for the fields of our own ("reassigned") to stay whole.
MIN_VALUE_CHARS = 16
LIST_START, NEXT_ITEM, LIST_END = "\n\n", "\n", "\n\n"  # a digest's list: its own block (fit_lines)
# an alert's outcome: (status, reason), status ACKNOWLEDGED, REJECTED or DEFERRED
Answer = tuple[str, str | None]


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSettings:
    """What every chat robot's settings have: the base of ``DingTalkConfig``, ``WeComConfig``,
    ``FeishuConfig`` and ``SlackConfig`` (each in its vendor's module), which add their credential
    fields after ``webhook_url`` and name it in ``credential``.

    The options after ``webhook_url`` are keyword-only; a vendor with another per-minute limit
    declares ``max_per_minute`` again with ``field(default=…, kw_only=True)``.
    """

    VENDOR: ClassVar[str]  # the robot's name in errors: "DingTalk webhook_url must be …"
    CREDENTIAL: ClassVar[str]  # the credential's name in errors: "DingTalk access token is empty …"

    webhook_url: str
    _: KW_ONLY
    max_per_minute: int = 20
    max_retries: int = 3
    timeout: float = 10
    digest_over: int | None = None
    language: str = "zh"
    contact_details: str = "masked"
    crm_link: str | None = None

    @property
    def credential(self) -> str:
        """What lets anyone post to the robot, and identifies it (and so its chat)."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        check_chat_config(self.VENDOR, self)
        if not self.credential:
            raise ActivationConfigError(f"{self.VENDOR} {self.CREDENTIAL} is empty: set the connection's password")

    @property
    def ledger_scope(self) -> str:
        """The robot (one group chat or channel) alerts were delivered to: a fingerprint of its
        credential, never of a signing secret (rotating that resends nothing)."""
        return _fingerprint(self.credential)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credential, and the signing ``secret`` of a robot that has that field (DingTalk, Feishu)."""
        if hasattr(self, "secret"):
            return (self.credential, self.secret or "")
        return (self.credential,)


CC = TypeVar("CC", bound=ChatSettings)

# the settings every robot's connection extra may give
CHAT_EXTRA_KEYS = (
    "max_per_minute", "max_retries", "timeout", "digest_over", "language", "contact_details", "crm_link",
)  # fmt: skip


def check_chat_config(vendor: str, config: ChatSettings) -> None:
    """The checks every robot's settings pass (``__post_init__``)."""
    check_http_url(f"{vendor} webhook_url", config.webhook_url)
    check_at_least("max_per_minute", config.max_per_minute, 1)
    check_at_least("max_retries", config.max_retries, 0)
    if config.digest_over is not None:
        check_at_least("digest_over", config.digest_over, 1)
    if config.language not in LANGUAGES:
        raise ActivationConfigError(f"language must be one of {LANGUAGES}, got {config.language!r}")
    if config.contact_details not in CONTACT_DETAILS:
        raise ActivationConfigError(f"contact_details must be one of {CONTACT_DETAILS}, got {config.contact_details!r}")
    if config.crm_link is not None:
        check_crm_link(config.crm_link)


def send_url_and_key(conn: object, key: str, default_url: str, default_path: str = "") -> tuple[str, str]:
    """A robot's send URL from a connection (its host, else ``default_url``) without the query, and the
    robot's credential: the password, else the extra's ``key``, else the URL's query parameter ``key``
    (the send URL pasted whole, as DingTalk and WeCom show it)."""
    url = _base_url(conn, default_path) or default_url
    credential = _credential(conn, key)
    parts = urlsplit(url)
    if parts.query:
        credential = credential or (parse_qs(parts.query).get(key) or [""])[0]
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return url, credential


def chat_options(config: type, extra: Mapping[str, Any], keys: Sequence[str] = CHAT_EXTRA_KEYS) -> dict[str, Any]:
    """A robot's settings from its connection's extra (``options_from_extra``; ``language`` lower-cased)."""
    options = options_from_extra(config, extra, keys)
    for key in ("language", "contact_details"):
        if key in options:
            options[key] = str(options[key]).lower()
    return options


# --- what an alert shows of the lead and its owner -----------------------------------------------

# A link to the lead's record in the CRM (connection extra ``crm_link``): a template with
# ``{crm_lead_id}``, e.g. HubSpot ``https://app.hubspot.com/contacts/<portal id>/record/0-1/{crm_lead_id}``,
# Salesforce ``https://<domain>.lightning.force.com/lightning/r/Lead/{crm_lead_id}/view``.
CRM_LINK_FIELD = "crm_lead_id"
_RECORD_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def check_crm_link(template: str) -> None:
    """A CRM link template is an http(s) URL with ``{crm_lead_id}`` and no other placeholder."""
    names = set(re.findall(r"{([^{}]*)}", template))
    if not template.startswith(("http://", "https://")) or names != {CRM_LINK_FIELD}:
        raise ActivationConfigError(
            f"crm_link must be an http(s) URL with {{{CRM_LINK_FIELD}}} (and no other placeholder), got {template!r}"
        )


def crm_url(template: str | None, record_id: Any) -> str | None:
    """The lead's CRM record link, when a template is configured and the record id is known (an id
    that is not a plain id, e.g. holds ``/`` or spaces, gets no link rather than a broken one)."""
    if not template or record_id is None or not _RECORD_ID_RE.match(str(record_id).strip()):
        return None
    return template.replace("{" + CRM_LINK_FIELD + "}", quote(str(record_id).strip(), safe=""))


# How each robot mentions a person, and which column of seeds/sales_teams.csv holds their id there:
# DingTalk mentions a mobile (``@<mobile>`` in the text and ``at.atMobiles``), WeCom's markdown a
# user id (``<@userid>``; ``mentioned_mobile_list`` is for text messages only), Feishu's card an
# open_id (``<at id=ou_…></at>``), Slack a member id (``<@U…>``).
MENTION_COLUMNS = {"dingtalk": "mobile", "wecom": "wecom_user_id", "feishu": "feishu_open_id", "slack": "slack_user_id"}
_MENTION_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
SALES_TEAMS = Path(__file__).resolve().parents[3] / "dbt_project" / "seeds" / "sales_teams.csv"


@functools.cache
def sales_team_ids(path: Path = SALES_TEAMS) -> dict[str, dict[str, str]]:
    """Per owner name, their ids in each chat (``MENTION_COLUMNS``) from the sales teams seed; an
    id that is not a plain id is left out (it would be markup in the message)."""
    if not path.exists():
        return {}
    out: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            owner = (row.get("owner") or "").strip()
            ids = {
                column: value
                for column in MENTION_COLUMNS.values()
                if (value := (row.get(column) or "").strip()) and _MENTION_ID_RE.match(value)
            }
            if owner and ids:
                out.setdefault(owner, {}).update(ids)
    return out


def shown_contact(fields: dict, contact_details: str) -> dict:
    """The lead's name, email and phone as a destination may show them: ``masked`` (the default:
    ``privacy.mask``'s first character of a name, ``z***@example.com``, ``***8000``), ``full`` or
    ``none`` (no contact lines at all)."""
    from intent_pipeline.privacy.mask import mask_email, mask_name, mask_phone

    if contact_details == "full":
        return {**fields, "contact_details": "full"}
    if contact_details == "none":
        return {**fields, "full_name": None, "email": None, "phone": None, "contact_details": "none"}
    return {
        **fields,
        "full_name": mask_name(fields.get("full_name")),
        "email": mask_email(fields.get("email")),
        "phone": mask_phone(fields.get("phone")),
        "contact_details": "masked",
    }


# --- texts --------------------------------------------------------------------------------------


# Full-width separators a Chinese reasons text may use, as the ASCII ones ``_reasons`` splits on.
FULL_WIDTH_SEPARATORS = str.maketrans({"；": ";", "｜": "|", "，": ","})


def _reasons(value: str | None) -> list[str]:
    """``score_reasons`` as a list: a JSON array, or text separated by ``;``, ``,`` or ``|``."""
    if not value:
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
            return [str(i).strip() for i in items if str(i).strip()]
        except ValueError:
            pass
    for separator in (";", "|", ","):
        if separator in text:
            return [part.strip() for part in text.split(separator) if part.strip()]
    return [text]


def catalogue_path(lang: str) -> Path:
    """The catalogue (``.po``) of a language other than English."""
    return LOCALE / CATALOGUES[lang] / "LC_MESSAGES" / "messages.po"


def _unknown_language(lang: str) -> ActivationConfigError:
    return ActivationConfigError(f"no chat message catalogue for language {lang!r}: one of {LANGUAGES}")


@functools.cache
def translations(lang: str) -> Any:
    """The translations of ``lang`` (``babel.support.Translations``): English is the msgids
    themselves; another language's ``.po`` is compiled in memory on first use (a fuzzy entry
    counts as untranslated, as ``msgfmt`` has it)."""
    from babel.support import NullTranslations, Translations

    if lang == SOURCE_LANGUAGE:
        return NullTranslations()
    if lang not in CATALOGUES:
        raise _unknown_language(lang)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as po:
        catalogue = read_po(po, locale=CATALOGUES[lang])
    mo = io.BytesIO()
    write_mo(mo, catalogue)
    mo.seek(0)
    return Translations(mo)


@functools.cache
def _jinja(lang: str) -> Any:
    """The template environment of one language: ``_``/``gettext``/``pgettext`` are its catalogue's."""
    if lang not in LANGUAGES:
        raise _unknown_language(lang)
    import jinja2

    # Markdown, not HTML: no autoescape; values arrive escaped for the robot's markup (escaped_view);
    # StrictUndefined so a template typo fails loudly.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


@functools.cache
def messages(markup: str, kind: str, lang: str) -> Any:
    """The macros of one kind of message (``KINDS``) in ``lang``, written in a robot's markup
    (``templates/markup/<markup>.j2``): ``title``, ``fallback`` and ``text`` for a lead's or a stall's
    alert; ``title``, ``fallback``, ``header``, ``line`` and ``more`` for a digest."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of chat message {kind!r}: one of {KINDS}")
    return _jinja(lang).get_template(f"{kind}.j2").make_module({"markup": markup})


def chat_fields(row: dict) -> dict:
    """What a chat alert shows (hashed into the ledger): the lead, its reasons in English and in
    Chinese (``score_reasons_zh``), its owner (and, for a lead recycled after the follow-up SLA,
    the owner it was taken from), the owner's ids for a mention (``sales_team_ids``), the CRM record
    id and the profile link (``profile_url``) when the row has them; ``kind`` is ``hot_lead``,
    ``reassigned`` (alert round 1: recycled) or ``stall``. A stall (``segment_funnel_stalls``) also
    has ``stall``: the rule's reason in both languages, the opportunity's CRM stage, the hours in
    the stage (``hours_in_stage``, to one decimal, never rounded up to the limit) and the rule's limit."""
    owner = row.get("owner")
    recycled = bool(row.get("alert_round")) and bool(row.get("recycled_from_owner"))
    fields = {
        "person_id": row.get("person_id"),
        "kind": "stall" if is_stall(row) else "reassigned" if recycled else "hot_lead",
        "full_name": row.get("full_name"),
        "company": row.get("company"),
        "job_title": row.get("job_title"),
        "email": row.get("email"),
        "phone": row.get("phone"),
        "lead_score": None if row.get("lead_score") is None else int(row["lead_score"]),
        "reasons": _reasons(row.get("score_reasons")),
        "reasons_zh": _reasons((row.get("score_reasons_zh") or "").translate(FULL_WIDTH_SEPARATORS)),
        "owner": owner,
        "owner_ids": dict(sales_team_ids().get(str(owner or "").strip(), {})),
        "recycled_from_owner": row.get("recycled_from_owner") or None,
        "crm_lead_id": row.get("crm_lead_id") or None,
        "profile_url": row.get("profile_url") or None,
    }
    if is_stall(row):
        hours, max_hours = row.get("hours_in_stage"), row.get("max_hours")
        fields["stall"] = {
            "rule_id": row.get("rule_id"),
            "reason": row.get("stall_reason"),
            "reason_zh": row.get("stall_reason_zh") or row.get("stall_reason"),
            "opportunity_stage": row.get("opportunity_stage"),
            "hours": hours_shown(hours),
            "max_hours": hours_shown(max_hours),
            # the stall began less than a tenth of an hour ago: "just over 72 h", not "72 h so far"
            "just_over": hours is not None and max_hours is not None and tenths(hours) <= tenths(max_hours),
        }
    return fields


def tenths(hours: float) -> float:
    """Hours to one decimal, rounded down (a stall of 72.04 h is 72.0, never 72.1)."""
    return math.floor(float(hours) * 10 + 1e-9) / 10


def hours_shown(hours: Any) -> str | None:
    """Hours as an alert shows them: ``96``, ``72.5`` (one decimal, rounded down, no ``.0``)."""
    if hours is None:
        return None
    value = tenths(hours)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def lead_view(fields: dict, lang: str) -> dict:
    """The values a template sees: in Chinese the Chinese reasons (and a stall's Chinese reason)
    when there are any."""
    reasons = fields.get("reasons") or []
    if lang == "zh" and fields.get("reasons_zh"):
        reasons = fields["reasons_zh"]
    view = {"kind": "hot_lead", "contact_details": "full", "owner_ids": {}, "owner_mention": None, "crm_url": None,
            "crm_lead_id": None, **fields, "reasons": list(reasons)}  # fmt: skip
    if fields.get("stall"):
        stall = fields["stall"]
        view["stall"] = {**stall, "reason": stall["reason_zh"] if lang == "zh" else stall["reason"]}
    return view


def escaped_view(fields: dict, lang: str, escape: Callable[[str], str], escape_url: Callable[[str], str] = str) -> dict:
    """``lead_view`` with every value as text in a robot's markup (``escape.ESCAPES[<robot>]``): a value
    can add no mention, link, image, heading, emphasis or line break to the message; the profile link
    only when it is a plain http(s) URL (``escape.safe_url``), written as the robot's links want it
    (``escape_url``: Slack's ``&amp;``)."""
    from intent_pipeline.activation.escape import escaped, safe_url

    view = lead_view(fields, lang)
    links = ("profile_url", "crm_url")
    out = {key: escaped(value, escape) for key, value in view.items() if key not in links and key != "owner_ids"}
    for key in links:
        url = safe_url(view.get(key))
        out[key] = None if url is None else escape_url(url)
    # ids from the sales teams seed, plain ids only (sales_team_ids): markup of our own, not a value
    out["owner_ids"] = dict(view.get("owner_ids") or {})
    return out


def rendered(macro, *args) -> str:
    """A template macro's text, without the blank lines around it."""
    return str(macro(*args)).strip()


def shortened_to_fit(render: Callable[[dict], str], view: Callable[[int], dict], fits: Callable[[str], bool]) -> str:
    """``render`` of ``view(MAX_VALUE_CHARS)`` (a lead's values, each cut at that many characters), or,
    when that does not ``fit``, its shortening: the last reasons give way to one "…" first; when not
    even one reason fits, every value is cut shorter (halved, down to ``MIN_VALUE_CHARS``, each ending
    in "…") and the reasons are fitted again. What still does not fit is returned as it is. A single
    alert's text (``ChatDestination.message_text``) and a digest's first line (``ChatDestination.digest_text``)."""
    max_chars = MAX_VALUE_CHARS
    while True:
        shown = view(max_chars)
        reasons = shown["reasons"]
        text = render(shown)
        if fits(text):
            return text
        # the most reasons that fit, then "…" (the rendered length grows with the count)
        low, high = 0, len(reasons) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if fits(render({**shown, "reasons": [*reasons[:middle], ELLIPSIS]})):
                low = middle
            else:
                high = middle - 1
        if reasons:
            text = render({**shown, "reasons": [*reasons[:low], ELLIPSIS]})
        if max_chars <= MIN_VALUE_CHARS or (fits(text) and low > 0):  # at least one reason, if any
            return text
        max_chars = max(MIN_VALUE_CHARS, max_chars // 2)


def by_heat(leads: list[dict]) -> list[dict]:
    """Hottest first (a cut digest shows the leads that matter most), then by person_id."""
    return sorted(leads, key=lambda f: (-(f.get("lead_score") or 0), str(f.get("person_id") or "")))


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate_utf8(text: str, max_bytes: int, suffix: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes on a character boundary, ending in ``suffix`` if cut."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    room = max(0, max_bytes - utf8_len(suffix))
    # "ignore" drops only a multi-byte character the cut went through, never a whole one.
    return data[:room].decode("utf-8", "ignore") + suffix


def _shortened(text: str, escape: Callable[[str], str], max_chars: int) -> str:
    """``escape`` of ``text`` cut to ``max_chars`` characters (ending in "…") after cleaning."""
    return escape(truncate_chars(plain_line(text), max_chars))


def truncate_chars(text: str, max_chars: int, suffix: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``max_chars`` characters, ending in ``suffix`` if cut."""
    return text if len(text) <= max_chars else text[: max(0, max_chars - len(suffix))] + suffix


def fit_lines(
    header: str,
    lines: list[str],
    more: Callable[[int], str],
    fits: Callable[[str], bool],
    shorten_first: Callable[[Callable[[str], bool]], str] | None = None,
) -> str:
    """``header``, then as many of ``lines`` as fit, then ``more(n)`` for the ``n`` left out.

    Lines are kept in order and the first one that does not fit ends the list (a shorter one
    after it would make "and N more" lie about which leads are missing); the first line, when it
    does not fit even alone, is ``shorten_first(fits_alone)`` if given (the first line written
    shorter, ``shortened_to_fit``), so a digest lists at least its hottest lead. A blank line before
    the list and after it: Markdown.pl and Python-Markdown (DingTalk's kind) start a list only after
    a blank line, and CommonMark would read "… and N more" right after the last item as part of it.
    """

    def with_more(text: str, left: int) -> str:
        return f"{text}{LIST_END}{more(left)}" if left else text

    def first_fits(line: str) -> bool:
        return fits(with_more(f"{header}{LIST_START}{line}", len(lines) - 1))

    if lines and shorten_first is not None and not first_fits(lines[0]):
        lines = [shorten_first(first_fits), *lines[1:]]
    kept = header
    for index, line in enumerate(lines):
        candidate = f"{kept}{LIST_START if index == 0 else NEXT_ITEM}{line}"
        if fits(with_more(candidate, len(lines) - index - 1)):
            kept = candidate
            continue
        return with_more(kept, len(lines) - index)
    return kept


def post_json(session, url: str, body: dict, timeout: float, headers: dict | None = None):
    """POST ``body`` as compact UTF-8 JSON (not ``\\uXXXX``): byte limits are counted on what is sent."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return session.post(
        url, data=data, timeout=timeout, headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def body_size(body: dict) -> int:
    """Bytes of ``body`` as ``post_json`` sends it."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


# --- planning -----------------------------------------------------------------------------------


class AlertOnce:
    """The planning rule of every chat destination: alert a lead once, ever, when it becomes hot,
    and once more if lead routing recycled it (no CRM follow-up within the SLA: a new owner);
    alert a stall (``segment_funnel_stalls``: a person stuck in a funnel stage) once, when it
    became one.

    Candidates are the leads that became hot or were recycled in the interval and the stalls that
    began in it, plus earlier alerts that failed and are still due; the key is the person
    (``person_id#<alert_round>`` for the recycling's alert, so the first alert's acknowledgement
    does not hide it; ``stall:<stall_id>@<stalled_at>`` for a stall, so a person who stalls again
    later is alerted again); an acknowledged alert is never resent, whatever changed since.
    A reassignment is alerted only where the lead's first alert went out (settled under its id or
    an id merged into it): the warehouse's ``lead_assignments.alerted`` cannot know that a run's
    alerts were held back (``stale``) or failed at a destination.
    Alerts follow identity merges (``merged_person_ids``): an alert that failed for an id merged
    away is due under the person it became, and a person announced under a merged-away id is not
    announced again (the same round's key of any of its ids was acknowledged).
    Subclasses add ``map_fields``, ``bodies`` and the sending.
    """

    # a chat alert names the person in a group: consent to chat_alert is needed (privacy.consent)
    purpose = "chat_alert"

    def candidates(self, rows: list[dict], entries: dict[str, LedgerEntry], history: History) -> list[dict]:
        """Leads that became hot or were recycled in the interval, stalls that began in it, plus
        earlier alerts that failed or were held back (``stale``) and are still due, plus the first
        crossings this destination did not see (below); a lead that left the segment is never
        alerted as hot; a stall that ended is not in the table any more. Consent: a behaviour stall of a
        person who unsubscribed is not alerted (it would prompt a call they opted out of); an open
        opportunity's stall is (the sales conversation is under way).

        A first crossing is announced once, late rather than never: a lead in the segment that this
        destination never announced (no settled alert under its id or an id merged into it) is due when
        its crossing was held back here as ``stale`` (a late delivery of an older day, whose run sends
        nothing), or when none of its ids is known here (none announced, held back, failed, or ``seen``
        hot) and it may be alerted (consent to chat alerts): a merge of ids (the merge itself crossed the
        line; once the destination ran before), or a lead that crossed while it could not be alerted
        (not contactable, so not in the segment, or no consent: never noted as seen) and can be now (once
        the destination ``remembers`` what it saw). A lead recycled before this destination told it (its
        alert held back or failed here, delivered by another robot) gets its first alert, not a
        reassignment; nor is it reassigned later for that recycling.

        ``history`` (from the ledger, ``run_destination``): ``ran_before`` off, a merge is no crossing
        it missed (a destination configured later only gets new crossings, no flood of every merged
        person in its first segment); ``seen``: a merge with a lead it saw hot is no new crossing;
        ``remembers``: the memory of what it saw started in an earlier run; ``interval``: the run's,
        for "announced in an earlier interval's run"."""

        def entry_of(row: dict) -> LedgerEntry | None:
            key = self.key_of(row)
            return entries.get(key) if key is not None else None

        def failed_before(row: dict) -> bool:
            return is_due(entry_of(row))

        def told_here(row: dict, before_this_interval: bool = False) -> bool:
            """The lead's first alert (round 0, under its id or an id merged into it) went out here (and,
            ``before_this_interval``, in a run of an earlier interval than this one)."""
            firsts = (entries.get(pid) for pid in person_ids(row))
            since = history.interval if before_this_interval else None
            return any(
                entry is not None and entry.settled and not (since and (entry.acknowledged_interval or "") >= since)
                for entry in firsts
            )

        def unseen(row: dict) -> bool:
            """None of the lead's ids is known here, and it may be alerted: a merge (since the destination
            first ran) or a lead not alertable when it crossed (since the destination remembers)."""
            ids = person_ids(row)
            if not row.get("consent_chat_alert") or any(pid in entries or pid in history.seen for pid in ids):
                return False
            return history.remembers or (history.ran_before and len(ids) > 1)

        def due(row: dict) -> bool:
            # an id merged into this person, alerted in the same round: once is enough if that
            # alert went out; if it failed and this person has no alert of its own, it is due here
            merged = [entry for old in merged_ids(row) if (entry := entry_of({**row, "person_id": old})) is not None]
            first_of_its_own = entry_of(row) is None
            if first_of_its_own and any(entry.settled for entry in merged):
                return False
            return bool(
                row.get("became_hot_in_interval")
                or row.get("recycled_in_interval")
                or failed_before(row)
                or (first_of_its_own and merged)
                or (not (row.get("alert_round") or 0) and unseen(row))
            )

        out = []
        for row in rows:
            if is_stall(row):
                if row.get("is_unsubscribed") and not row.get("opportunity_id"):
                    continue
                if row.get("became_stalled_in_interval") or failed_before(row):
                    out.append(row)
                continue
            if not row.get("in_segment", True):
                continue
            # a reassignment tells the next owner a lead was not followed up: never about a lead
            # this destination never announced (its first alert held back as stale, or failed, or
            # the destination configured after it); when that first alert is due, it goes out instead
            if (row.get("alert_round") or 0) and not told_here(row):
                if due(first := first_alert_of(row)):
                    out.append(first)
                continue
            # told late, in this interval's run (its crossing held back): the recycling, computed before
            # the owner was told, is no reassignment (a re-run of the interval must not send one either)
            if (row.get("alert_round") or 0) and not told_here(row, before_this_interval=True):
                continue
            if due(row):
                out.append(row)
        return out

    def remember(self, rows: list[dict], entries: dict[str, LedgerEntry], history: History) -> list[str]:
        """The keys of every lead in the segment (with consent to chat alerts) this
        destination has no record of after its run: hot here and not announced (hot before its first
        run, or hot without crossing), so that a later merge with it is no new crossing. Called by
        ``run_destination`` after sending, never for a run of an older interval (time moves forward)."""
        notes = []
        for row in rows:
            if is_stall(row) or not row.get("in_segment", True) or not row.get("consent_chat_alert"):
                continue
            key = self.key_of(first_alert_of(row))
            if key is not None and key not in entries and key not in history.seen:
                notes.append(key)
        return list(dict.fromkeys(notes))

    def key_of(self, row: dict) -> str | None:
        if is_stall(row):
            stalled_at = row.get("stalled_at")
            when = stalled_at.isoformat(timespec="seconds") if isinstance(stalled_at, datetime) else stalled_at
            return f"stall:{row.get('stall_id')}@{when}" if row.get("stall_id") else None
        person_id, alert_round = row.get("person_id"), row.get("alert_round") or 0
        return f"{person_id}#{alert_round}" if person_id and alert_round else person_id

    def validate(self, row: dict) -> str | None:
        if not row.get("person_id"):
            return "person_id is empty"
        if is_stall(row):  # a stall is worth an alert whether or not the person has a score yet
            return None if row.get("stall_id") else "stall_id is empty"
        if row.get("lead_score") is None:
            return "lead_score is empty"
        return None

    def is_unchanged(self, item: Planned, entry: LedgerEntry) -> bool:
        return entry.settled  # acknowledged, or in doubt (posted, perhaps, when its process died)


def alert_kind(fields: dict) -> str:
    """``hot_lead``, ``reassigned`` or ``stall`` (fields of an older version have no ``kind``)."""
    if fields.get("stall"):
        return "stall"
    return fields.get("kind") or ("reassigned" if fields.get("recycled_from_owner") else "hot_lead")


def is_due(entry: LedgerEntry | None) -> bool:
    """An alert that failed, or was held back as ``stale``: to be sent while the lead is still due."""
    return entry is not None and not entry.settled


def first_alert_of(row: dict) -> dict:
    """A recycled lead's row as its first alert (round 0, a newly hot lead shown with its owner now)."""
    return {**row, "alert_round": 0, "recycled_from_owner": None, "recycled_in_interval": False}


def person_ids(row: dict) -> list[str]:
    """The row's person id and the ids merged into it (``merged_ids``), empty ones left out."""
    return [pid for pid in (row.get("person_id"), *merged_ids(row)) if pid]


def merged_ids(row: dict) -> list[str]:
    """The person ids merged into the row's person (``merged_person_ids``, comma-separated)."""
    return [part for part in (row.get("merged_person_ids") or "").split(",") if part]


# --- the destination ----------------------------------------------------------------------------


class ChatDestination(AlertOnce, HttpSender[CC]):
    """A chat robot alerting newly hot leads; with ``config=None`` it only builds the bodies (outbox).

    The duck-typed destination interface of ``run_destination`` (see ``DingTalkDestination``).
    Subclasses set ``name`` and ``limits()``, and implement ``message_body``, ``digest_body``,
    ``post`` (one request) and ``classify`` (its answer); the retries are ``http.with_retries``'.
    """

    name = "chat"
    # A robot has no idempotency key: an alert whose request was under way when the process died is
    # never posted again (run_destination notes each request in the ledger before it is made).
    at_most_once = True

    def __init__(
        self,
        config: CC | None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.config = config
        self._start_http(sleep, rng, config.secrets if config else ())
        self.clock = clock
        self.windows = self.limits()
        # called with the alerts of a request just before it is made (run_destination: ledger.begin)
        self.before_send: Callable[[list[Planned]], None] | None = None

    def limits(self) -> list[SlidingWindow]:
        """The vendor's rate limits for this robot (default: ``max_per_minute`` a minute)."""
        per_minute = self.config.max_per_minute if self.config else 20
        return [SlidingWindow(per_minute, 60.0, self.clock, self._sleep)]

    @property
    def language(self) -> str:
        return self.config.language if self.config else "zh"

    @property
    def digest_over(self) -> int:
        """One message per lead up to this many leads, a digest above: 20 unless set, and never
        more than the robot takes in a minute, so a run never sits out a rate limit."""
        if self.config is None:
            return DIGEST_OVER
        if self.config.digest_over is not None:
            return self.config.digest_over
        return min(DIGEST_OVER, self.config.max_per_minute)

    # --- planning (AlertOnce, the same rule as DingTalk) and bodies -----------------------------

    def map_fields(self, row: dict) -> dict:
        """The alert's fields as this destination may show them: the contact details masked, in
        full or left out (``contact_details``), the CRM link when configured and the record id known."""
        fields = shown_contact(chat_fields(row), self.config.contact_details if self.config else "masked")
        fields["crm_url"] = crm_url(self.config.crm_link if self.config else None, fields.get("crm_lead_id"))
        return fields

    def view(self, fields: dict, lang: str, max_chars: int = MAX_VALUE_CHARS) -> dict:
        """What the templates see of an alert: its values as text in this robot's markup
        (``escape.ESCAPES[name]``), never markup of their own, each at most ``max_chars`` characters
        before escaping; ``owner_mention``: the owner's id in this robot (``MENTION_COLUMNS``), when
        the sales teams seed has it."""
        from intent_pipeline.activation.escape import ESCAPES, URL_ESCAPES

        escape = ESCAPES[self.name]
        if max_chars < MAX_VALUE_CHARS:
            escape = functools.partial(_shortened, escape=escape, max_chars=max_chars)
        view = escaped_view(fields, lang, escape, URL_ESCAPES.get(self.name, str))
        view["owner_mention"] = view["owner_ids"].get(MENTION_COLUMNS[self.name])
        return view

    def message_text(self, fields: dict, lang: str, fits: Callable[[str], bool]) -> str:
        """One alert's text in this robot's markup, within the robot's size limit (``fits``).

        Every value is already at most ``MAX_VALUE_CHARS``, but many reasons, or values the markup
        writes longer (Slack's ``&amp;``, three UTF-8 bytes a Chinese character), can still overflow
        it, and the robot (or its vendor's cut) would then lose the end of the message: the owner's
        mention. So it is ``shortened_to_fit``: the headline (the score, the call to follow up) and
        the owner's line are template text and stay."""
        macro = self.message_macros(fields, lang).text
        return shortened_to_fit(functools.partial(rendered, macro), lambda chars: self.view(fields, lang, chars), fits)

    def digest_text(self, leads: list[dict], lang: str, fits: Callable[[str], bool]) -> str:
        """A digest's text in this robot's markup, within the robot's size limit (``fits``): the header
        naming the count, the digest's ``line`` for each lead, hottest first, with its first
        ``DIGEST_TOP_REASONS`` reasons, as many as fit, then "… and N more" (``fit_lines``). The hottest
        lead is always listed: its line, when even alone it does not fit, is ``shortened_to_fit`` as a
        single alert is."""
        macros = self.digest_macros(leads, lang)
        render = functools.partial(rendered, macros.line)

        def top_reasons(fields: dict) -> Callable[[int], dict]:
            def shown(max_chars: int) -> dict:
                view = self.view(fields, lang, max_chars)
                return {**view, "reasons": view["reasons"][:DIGEST_TOP_REASONS]}

            return shown

        views = [top_reasons(fields) for fields in by_heat(leads)]
        return fit_lines(
            rendered(macros.header, len(leads)),
            [render(view(MAX_VALUE_CHARS)) for view in views],
            lambda n: rendered(macros.more, n),
            fits,
            shorten_first=functools.partial(shortened_to_fit, render, views[0]) if views else None,
        )

    def mentioned(self, alerts: list[dict]) -> list[str]:
        """The ids this robot's message mentions (its owners', in the order of the alerts, once each)."""
        ids = (fields.get("owner_ids", {}).get(MENTION_COLUMNS[self.name]) for fields in by_heat(alerts))
        return list(dict.fromkeys(i for i in ids if i))

    def macros(self, kind: str, lang: str):
        """The macros of one kind of message (``KINDS``) in this robot's markup (``templates/markup/<name>.j2``)."""
        return messages(self.name, kind, lang)

    def message_macros(self, fields: dict, lang: str):
        """The template of one alert: a newly hot lead's, a reassigned lead's or a stall's."""
        return self.macros(alert_kind(fields), lang)

    def digest_macros(self, alerts: list[dict], lang: str):
        """The template of a digest (its alerts are all of one kind)."""
        return self.macros(DIGEST_KINDS[alert_kind(alerts[0]) if alerts else "hot_lead"], lang)

    def bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """One message per alert, or, when there are more than ``digest_over`` in the run, one digest
        per kind of alert: the newly hot leads, the reassigned ones and the stalls (each only if it has any)."""
        if len(items) <= self.digest_over:
            return [(self.message_body(it.fields, self.language), [it]) for it in items]
        log.info("%s: %d alerts > %d: digest messages", self.name, len(items), self.digest_over)
        out = []
        for kind in ALERT_KINDS:
            group = [it for it in items if alert_kind(it.fields) == kind]
            if group:
                out.append((self.digest_body([it.fields for it in group], self.language), group))
        return out

    # --- vendor parts ---------------------------------------------------------------------------

    def message_body(self, fields: dict, lang: str) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def digest_body(self, leads: list[dict], lang: str) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def post(self, body: dict) -> requests.Response:  # pragma: no cover - abstract
        """One request sending ``body`` (signed afresh when the vendor signs)."""
        raise NotImplementedError

    def classify(self, response: requests.Response) -> Answer | Retry:  # pragma: no cover - abstract
        """The alert's outcome from one answer, or ``Retry``; raises ``DestinationRefused`` when the
        robot refuses its configuration (every message would fail the same way)."""
        raise NotImplementedError

    # --- sending --------------------------------------------------------------------------------

    def send(self, body: dict, items: list[Planned]) -> list[Outcome]:
        """Send one message (a lead's, or the digest of all of them); ``[(person_id, status, reason)]``.

        Each attempt first waits for the robot's rate limits, then calls ``before_send`` (the ledger
        notes the request as under way: a process killed before the answer never posts the alert
        again); 429s, 5xx, the vendor's "too fast", timeouts and connection errors are retried
        (``http.with_retries``); given up, the alert is deferred to the next run."""

        def attempt() -> Answer | Retry:
            if self.before_send is not None:  # after the rate limit's wait: the request goes out now
                self.before_send(items)
            return self.classify(self.post(body))

        answer = self._with_retries(attempt, attempts=self.sending.max_retries + 1, limits=self.windows)
        status, reason = (DEFERRED, answer.reason) if isinstance(answer, GaveUp) else answer
        return self._outcomes(items, {it.key: (status, reason) for it in items})

    def errcode_outcome(
        self,
        response: requests.Response,
        *,
        too_fast: int,
        too_fast_wait: float,
        config_codes: set[int],
        refused: Callable[[object, str], DestinationRefused],
    ) -> Answer | Retry:
        """An attempt's outcome at a robot that answers HTTP 200 with ``{"errcode", "errmsg"}``
        (DingTalk, WeCom): 0 acknowledged; ``too_fast`` retried after ``too_fast_wait``; one of
        ``config_codes`` raises ``refused(errcode, errmsg)`` (every message would fail the same way);
        any other errcode rejects the message with the robot's text."""
        if response.status_code != 200:
            return self.http_failure(response)
        try:
            data = response.json()
        except ValueError:
            return DEFERRED, f"not JSON: {response.text[:300]}"
        data = data if isinstance(data, dict) else {}
        errcode, errmsg = data.get("errcode"), str(data.get("errmsg", ""))
        if errcode == 0:
            return ACKNOWLEDGED, None
        if errcode in config_codes:
            raise refused(errcode, errmsg)
        if errcode == too_fast:
            return Retry(f"errcode {errcode}: {errmsg}", too_fast_wait)
        return REJECTED, f"errcode {errcode}: {errmsg}"

    @staticmethod
    def http_failure(response: requests.Response) -> Answer | Retry:
        """An HTTP status the vendor's contract does not explain: 429 and 5xx are retried, the rest deferred."""
        reason = f"HTTP {response.status_code} {response.text[:300]}"
        return status_outcome(response, reason) or (DEFERRED, reason)


def request_url(response: requests.Response) -> str:
    """The URL a response answered (secrets included: errors naming it go through ``http.redact``)."""
    return str(response.request.url or "")
