"""Values are data, never markup: what a lead's value may not do in a chat message or a CSV cell.

A value (a company, a name, a job title, a reason, an owner) comes from a form a stranger filled in.
In a chat message it must read as the text it is, whatever it holds: no mention (``<at id=all>``,
``@所有人``, ``<!channel>``, ``<@userid>``), no link or image (``[x](url)``, ``![x](url)``, ``<url|x>``,
a bare ``http://`` a client would link), no heading, quote or list (a line break and ``###``), no
emphasis (``**``, ``*``, ``_``, ``~``, backticks) and no HTML (``<font>``, entities). The vendors'
markups (sources, all read for this module):

* DingTalk robot markdown: headings ``#``, quote ``>``, ``**bold**``, ``*italic*``, links
  ``[t](url)``, images ``![t](url)``, lists; a mention is ``@<mobile>`` in the text together with
  ``at.atMobiles`` (we send ``isAtAll: false``, and only the owner's mobile from the sales teams seed).
* WeCom robot markdown: headings, ``**bold**``, links, ``>`` quotes, inline code,
  ``<font color="info">`` and ``<@userid>`` mentions.
* Feishu/Lark card ``markdown`` element (our cards' text; ``lark_md`` is the same without lists):
  ``**bold**``, ``*italic*``, ``~~strike~~``, links, ``<at id=all></at>`` and ``<at id=…>`` mentions,
  ``<font>``, HTML entities.
* Slack mrkdwn: ``&``, ``<``, ``>`` must be sent as ``&amp;``, ``&lt;``, ``&gt;`` (Slack's own rule);
  ``*bold*``, ``_italic_``, ``~strike~``, backticks, ``>`` quotes; ``<!channel>``, ``<@U…>``, ``<url|t>``;
  with ``verbatim: false`` (the default) Slack also links URLs and parses mentions in plain text, so
  our sections are sent ``verbatim: true`` (slack.py).

None of these markups has an escape every client honours (CommonMark's backslash is not documented
by DingTalk, WeCom or Feishu), so a character that would be markup is replaced by its full-width form,
which no renderer reads as markup and a reader reads as the same text: ``*`` → ``＊``, an ``_`` not
inside a word → ``＿``, ``[`` → ``［``, ``<`` → ``＜``, ``@`` at a word's start → ``＠``, ``://`` →
``：//``; Slack's ``&<>`` get Slack's own entities. Line breaks and other control characters become a
space; invisible format characters (Unicode Cf, ``normalize.invisible``: zero-width characters, the byte
order mark, the bidirectional marks, embeddings, overrides and isolates, which hide text or make it read
backwards) are dropped, except a zero-width joiner between two emoji (a family, a profession: the emoji
stays whole) and a flag's tag characters (England's flag); a lone surrogate (not
encodable as UTF-8) becomes U+FFFD, and a value longer than ``MAX_VALUE_CHARS`` (200) is cut with "…"
(the robots cut a message as a whole, which would drop the score and the owner after a long value).
An ``@`` inside a word stays (``zhang.wei@example.com`` is still an address), and so does ``snake_case``.

CSV cells (Salesforce Bulk API 2.0), and the texts a CRM stores (HubSpot properties, Salesforce fields:
a salesperson exports them to a spreadsheet; the outbox holds the same bodies), get OWASP's rule for
formula injection: a text starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so a spreadsheet that opens
the CSV shows it instead of running it; a phone number or a signed number (``+86 138 0013 8000``,
``-5``) is left as it is (it runs nothing). ``#N/A`` is how a Bulk API CSV sets a field to null, so a
value that is literally ``#N/A`` gets the same ``'`` and never nulls a field by accident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from intent_pipeline.sources.normalize import invisible

# Invisible characters (``normalize.invisible``: Unicode Cf) can hide or reorder text: dropped, except
# where an emoji sequence needs one (``_drop_invisible``): a zero-width joiner between two emoji (a
# family, a profession) and the tag characters after a black flag (England's, Scotland's flag).
ZWJ = "\u200d"
_TAG_FLAG_RE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
# CommonMark-ish markups (DingTalk, WeCom, Feishu): characters that can open markup anywhere in a line.
MARKDOWN_CHARS = str.maketrans(
    {
        "\\": "＼",
        "*": "＊",
        "`": "｀",
        "~": "～",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "|": "｜",
        "&": "＆",
        "#": "＃",
        "$": "＄",
    }
)
# Slack mrkdwn: its three reserved characters as Slack's entities, emphasis as full-width forms.
SLACK_CHARS = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "*": "＊", "`": "｀", "~": "～"})
# An "_" between two letters or digits opens no emphasis (CommonMark's and Slack's rule: snake_case stays).
_UNDERSCORE_RE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# An "@" that starts a word would read as a mention; inside a word (an e-mail address) it cannot. A
# masked address (privacy.mask: "z***@example.com", its "*" written "＊") is still inside a word.
_MENTION_RE = re.compile(r"(?<![0-9A-Za-z._%+\-])(?<!＊＊＊)@")
_SCHEME_RE = re.compile(r"://")
_WWW_RE = re.compile(r"(?i)\bwww\.")
_SPACES_RE = re.compile(r" {2,}")
# A value longer than this is cut (ending in "…") before it reaches a message: a 10,000-character
# company must not push the score, the owner's mention and the call to follow up out of a message
# that the robot (or our byte limit) cuts as a whole. Counted after cleaning, before escaping.
MAX_VALUE_CHARS = 200
ELLIPSIS = "…"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER_LIKE_RE = re.compile(r"^[+\-]?[0-9][0-9 ().\-/]*$")  # a phone or signed number: no formula
NULL_TOKEN = "#N/A"  # Bulk API 2.0: "To set a field value to null, use a field value of #N/A"
# A URL our own templates may link (profile_url): http(s), nothing that could close the link's markup.
_SAFE_URL_RE = re.compile(r"^https?://[^\s<>()\[\]|\"'`\\]+$")


def plain_line(text: str) -> str:
    """``text`` on one line of ordinary characters: control characters and line/paragraph separators
    become a space (runs collapsed), zero-width and bidirectional controls are dropped (a joiner
    inside an emoji sequence stays), a lone surrogate is U+FFFD;
    at most ``MAX_VALUE_CHARS`` characters (a longer value is cut and ends in "…")."""
    if _has_surrogate(text):  # a pair is joined into its character, a lone one is U+FFFD
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = _drop_invisible(text)
    out = [" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text]
    text = _SPACES_RE.sub(" ", "".join(out))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + ELLIPSIS


def _drop_invisible(text: str) -> str:
    """``text`` without invisible characters, except a zero-width joiner between two emoji and the tags
    of a flag's tag sequence (U+1F3F4, tags U+E0020-E007E, cancel tag U+E007F)."""
    if not any(invisible(c) for c in text):
        return text
    tags = {i for m in _TAG_FLAG_RE.finditer(text) for i in range(m.start() + 1, m.end())}
    return "".join(
        c for i, c in enumerate(text) if not invisible(c) or i in tags or (c == ZWJ and _joins_emoji(text, i))
    )


def _joins_emoji(text: str, i: int) -> bool:
    """The joiner at ``i`` follows an emoji (or its variation selector or skin tone) and precedes one."""
    if i == 0 or i + 1 == len(text):
        return False
    before, after = text[i - 1], text[i + 1]
    return (before == "\ufe0f" or unicodedata.category(before) in ("So", "Sk")) and unicodedata.category(after) == "So"


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def _defang(text: str) -> str:
    """No emphasis by ``_``, no mention, no URL a client would link."""
    text = _UNDERSCORE_RE.sub("＿", text)
    text = _MENTION_RE.sub("＠", text)
    text = _SCHEME_RE.sub("：//", text)
    return _WWW_RE.sub(lambda m: m.group(0)[:3] + "．", text)


def markdown_text(value: str) -> str:
    """A value as text in DingTalk, WeCom or Feishu markdown (see the module docstring)."""
    return _defang(plain_line(value).translate(MARKDOWN_CHARS))


def slack_text(value: str) -> str:
    """A value as text in Slack mrkdwn: ``&<>`` as Slack's entities, no emphasis, mention or URL."""
    return _defang(plain_line(value).translate(SLACK_CHARS))


ESCAPES: dict[str, Callable[[str], str]] = {
    "dingtalk": markdown_text,
    "wecom": markdown_text,
    "feishu": markdown_text,
    "slack": slack_text,
}


# How a URL is written inside a robot's link markup, where that differs from the URL itself.
URL_ESCAPES: dict[str, Callable[[str], str]] = {"slack": lambda url: url.replace("&", "&amp;")}


def safe_url(url: Any) -> str | None:
    """``url`` if a template may link it (http or https, nothing that could end the link's markup), else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    return url if _SAFE_URL_RE.match(url) else None


def escaped(value: Any, escape: Callable[[str], str]) -> Any:
    """``value`` with ``escape`` applied to every string in it (lists and dicts followed; numbers kept)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list | tuple):
        return [escaped(v, escape) for v in value]
    if isinstance(value, dict):
        return {k: escaped(v, escape) for k, v in value.items()}
    return value


def csv_safe(value: Any) -> Any:
    """A CSV cell's value that a spreadsheet does not run and Salesforce does not read as null
    (OWASP's CSV-injection rule and ``#N/A``; see the module docstring). Non-strings are kept."""
    if not isinstance(value, str) or not value:
        return value
    if value.strip().upper() == NULL_TOKEN:
        return "'" + value
    if value.startswith(FORMULA_START) and not _NUMBER_LIKE_RE.match(value):
        return "'" + value
    return value
