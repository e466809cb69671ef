"""Decide a landing file's text encoding, or say why it cannot be decided (docs/sources.md, "Encodings").

The rule is "decode or refuse, never guess": a file is decoded only when the decoding is
certain (a byte-order mark, strict UTF-8) or validated (a legacy encoding the source allows,
checked by charset-normalizer and by a stray-byte scan). A doubtful file raises
:class:`DoubtfulEncoding` with the reason and a lossy decoding, so that its rows can be
quarantined as a whole and read by a person; it is never loaded as mojibake.

The trap this avoids: one Latin-1 byte in a UTF-8 file makes strict UTF-8 fail, and GB18030
decodes almost any byte string, so a "UTF-8, else GB18030" fallback turns 张伟 into 寮犱紵.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

from intent_pipeline.sources.normalize import BadValue

# Legacy (non-Unicode) encodings tried when a file is not UTF-8: what Excel in mainland China writes.
DEFAULT_LEGACY = ("gb18030",)
# charset-normalizer's "chaos" (share of odd character sequences) above which a legacy decoding is doubtful.
MAX_CHAOS = 0.2

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# A well-formed UTF-8 multi-byte character (no overlongs, no surrogates), for telling a damaged UTF-8
# file from one in another encoding.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
# GB18030 tokens: ASCII runs, 4-byte sequences, 2-byte sequences (trail byte ASCII or high).
_GB_TOKEN = re.compile(
    rb"(?P<ascii>[\x00-\x7f]+)|(?P<four>[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39])"
    rb"|(?P<low>[\x81-\xfe][\x40-\x7e])|(?P<high>[\x81-\xfe][\x80-\xfe])|(?P<other>[\x80-\xff])"
)
_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@._-+")


class DoubtfulEncoding(BadValue):
    """The file's encoding cannot be decided with certainty; ``lossy`` is a best-effort decoding for quarantine."""

    def __init__(self, message: str, lossy: str):
        super().__init__(message)
        self.lossy = lossy


@dataclass(frozen=True)
class Decoded:
    """A decoded file: its text and the encoding that decoded it."""

    text: str
    encoding: str


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _describe(data: bytes, offset: int) -> str:
    return f"byte 0x{data[offset]:02X} at offset {offset} (line {_line_of(data, offset)})"


def decode_text(data: bytes, legacy: tuple[str, ...] = DEFAULT_LEGACY) -> Decoded:
    """Decode a tabular landing file: a BOM (UTF-8, UTF-16, UTF-32), else strict UTF-8, else one of
    ``legacy`` when it decodes strictly and passes validation.

    Raises :class:`DoubtfulEncoding` when none is certain: a UTF-8 file with invalid bytes in it (it is
    not re-read as another encoding), a legacy decoding that reads as noise or holds a stray lead byte
    glued to ASCII text, or bytes no allowed encoding decodes.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise DoubtfulEncoding(
                    f"invalid {encoding.upper()} after its byte-order mark: {exc.reason} at byte {exc.start}",
                    data.decode(encoding, errors="replace"),
                ) from None
    utf16 = _bomless_utf16(data)  # first: ASCII in UTF-16 is valid UTF-8 too, with a NUL after every letter
    if utf16 is not None:
        return utf16
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    lossy = data.decode("utf-8", errors="replace")
    good = len(_UTF8_MULTIBYTE.findall(data))
    bad = lossy.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    if good and good >= bad:
        raise DoubtfulEncoding(
            f"not valid UTF-8: {_describe(data, utf8_error.start)}, in a file that is otherwise UTF-8 "
            f"({good} multi-byte characters, {bad} invalid bytes); not guessing another encoding "
            "(re-export the file as UTF-8)",
            lossy,
        )
    reasons = [f"not UTF-8 ({_describe(data, utf8_error.start)})"]
    for encoding in legacy:
        try:
            decoded = data.decode(encoding)
        except UnicodeDecodeError as exc:
            reasons.append(f"not {encoding.upper()} ({exc.reason} at byte {exc.start})")
            continue
        doubt = _legacy_doubt(data, encoding)
        if doubt is None:
            return Decoded(decoded, encoding)
        raise DoubtfulEncoding(f"doubtful {encoding.upper()} decoding: {doubt}", decoded)
    raise DoubtfulEncoding("cannot determine the encoding: " + "; ".join(reasons), lossy)


def _bomless_utf16(data: bytes) -> Decoded | None:
    # UTF-16 without a BOM: text whose every other byte is NUL (ASCII-heavy exports); CSV never holds NULs.
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros.count(0) >= 0.3 * len(zeros):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                return None
    return None


def _legacy_doubt(data: bytes, encoding: str) -> str | None:
    """Why a strict legacy decoding is still doubtful, or None."""
    if encoding.replace("-", "").lower() in ("gb18030", "gbk", "gb2312"):
        stray = _stray_gb_byte(data)
        if stray is not None:
            return (
                f"{_describe(data, stray)} is a GB lead byte glued to the ASCII text around it "
                f"({data[max(0, stray - 8) : stray + 9]!r}): a stray byte, not a character"
            )
    from charset_normalizer import from_bytes

    match = from_bytes(data, cp_isolation=[encoding]).best()
    if match is None:
        return f"charset-normalizer finds the text incoherent as {encoding.upper()}"
    if match.chaos > MAX_CHAOS:
        return f"charset-normalizer rates {match.chaos:.0%} of the text as noise"
    return None


def _stray_gb_byte(data: bytes) -> int | None:
    """Offset of a 2- or 4-byte GB sequence that sits inside an ASCII word (``\\x81zhang.wei@`` reads as
    亃hang.wei@): a Chinese character is never glued to both a Latin letter and its trail byte."""
    previous_ascii = None
    for token in _GB_TOKEN.finditer(data):
        kind = token.lastgroup
        if kind == "ascii":
            previous_ascii = token.group()[-1]
            continue
        start, end = token.span()
        following = data[end] if end < len(data) else None
        if kind == "low":
            # trail byte in 0x40-0x7E (a letter or @): only GBK's rare extension characters do that
            if data[start + 1] in _WORD and (following in _WORD or previous_ascii in _WORD):
                return start
        elif kind == "four" and previous_ascii in _WORD and following in _WORD:
            return start
        previous_ascii = None
    return None


def decode_json_bytes(data: bytes) -> str:
    """Decode a JSON document: UTF-8 (a BOM tolerated), UTF-16 or UTF-32 (RFC 8259; BOM or NUL pattern).

    Raises :class:`DoubtfulEncoding` for anything else: JSON from a webhook is Unicode by definition,
    so a legacy encoding is never guessed.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DoubtfulEncoding(
            f"not valid {encoding.upper()} (JSON must be Unicode): {exc.reason} at byte {exc.start}",
            data.decode(encoding, errors="replace"),
        ) from None
