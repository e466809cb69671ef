"""Erasure in the landing drops (docs/privacy.md, "Erasure"): the records of an erased person are
taken out of the sources' own export files under the landing folder, every interval's drop.

The suppression list already keeps them out of every re-extract; this removes them from the files
themselves, so that nothing under the data folders names the person. A record is the person's when
any of its values is one of their identifiers (the same salted-hash check the extract applies to a
rejected row: every value, and every email- or phone-like run inside one, normalised first).

Per landing format (the ones the extractors read, ``sources/*/extract.py``):

- **CSV** (forms, CRM; UTF-8, UTF-8 with BOM, GB18030/GBK, UTF-16): records are told apart by the
  extract's reader (``tabular.csv_record_texts``), so the rows checked are the rows the extract read;
  the records that stay are kept as their exact text (quoting, line ends, a multi-line quoted field,
  the BOM, the encoding), the header always; a file whose encoding cannot be decided, or whose rows
  the reader cannot tell apart, is cut by physical lines instead.
- **XLSX** (forms): the person's rows are deleted from every worksheet and the workbook saved again
  (openpyxl: the cells' values and types stay, the file's bytes do not).
- **JSON** (SendGrid webhook bodies): the events of an array are removed with the text of every other
  event kept as it was; an ``{"events": [...]}`` wrapper or a single event object is written again
  as JSON.
- **NDJSON / JSON Lines** (GA4 export): the person's lines are removed, the others kept byte for byte.

A file is rewritten beside itself under a hidden name (which an extract skips) and renamed over
the original (on object storage: one put of the whole object). A file left without records keeps
its header (CSV, XLSX), ``[]`` (JSON) or nothing (NDJSON): the drop stays a drop of that interval.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import posixpath
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from intent_pipeline.privacy import suppression

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".jsonl": "ndjson", ".ndjson": "ndjson"}


@dataclass
class LandingHit:
    """One landing file holding records of the person: where, its format, how many records."""

    path: str
    format: str
    records: int
    error: str | None = None  # why the file could not be rewritten (a read-only drop)

    def as_dict(self) -> dict:
        found = {"path": self.path, "format": self.format, "records": self.records}
        return {**found, "error": self.error} if self.error else found


def _values_hit(values: Iterable, matcher: suppression.Suppression) -> bool:
    strings = [v if isinstance(v, str) else str(v) for v in values if v is not None and not isinstance(v, bool)]
    return bool(strings) and matcher.matches_text(json.dumps(strings, ensure_ascii=False))


# --- CSV ----------------------------------------------------------------------------------------------


def _encoded(text: str, encoding: str) -> bytes:
    # decode_text names the BOM's codec (utf-8-sig, utf-16, utf-32): encoding with it writes the BOM again
    return text.encode(encoding)


def rewrite_csv(data: bytes, matcher: suppression.Suppression) -> tuple[bytes | None, int]:
    """``(new bytes, records removed)``; ``(None, 0)`` when the file holds nothing of the person."""
    from intent_pipeline.sources.encoding import DoubtfulEncoding, decode_text
    from intent_pipeline.sources.tabular import _delimiter, csv_record_texts

    try:
        decoded = decode_text(data)
    except DoubtfulEncoding:
        return _rewrite_lines(data, matcher)
    text, encoding = decoded.text, decoded.encoding
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    # the records as the extract tells them apart (tabular's reader): a row the extract loaded or quarantined
    # is the record checked here, whatever its quotes and line ends
    try:
        records = csv_record_texts(text, _delimiter(text))
    except csv.Error:  # rows that cannot be told apart: the extract quarantines the file line by line
        return _rewrite_lines(data, matcher)
    kept: list[str] = []
    removed = 0
    header_seen = False
    for fields, record in records:
        if not header_seen:
            kept.append(record)
            header_seen = bool(record.strip())
            continue
        if _values_hit(fields, matcher):
            removed += 1
        else:
            kept.append(record)
    if not removed:
        return None, 0
    return _encoded("".join(kept), encoding), removed


def _rewrite_lines(
    data: bytes, matcher: suppression.Suppression, *, keep_first: bool = True
) -> tuple[bytes | None, int]:
    """Physical lines (bytes kept as they are), each checked as text: a file that cannot be parsed."""
    lines = data.splitlines(keepends=True)
    kept: list[bytes] = []
    removed = 0
    for number, line in enumerate(lines):
        text = line.decode("utf-8", errors="replace")
        if (number == 0 and keep_first) or not text.strip():
            kept.append(line)
            continue
        if matcher.matches_text(text):  # a JSON line by its values, any other line as text
            removed += 1
        else:
            kept.append(line)
    return (b"".join(kept), removed) if removed else (None, 0)


# --- XLSX ---------------------------------------------------------------------------------------------


def rewrite_xlsx(data: bytes, matcher: suppression.Suppression) -> tuple[bytes | None, int]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data))
    except Exception:  # a damaged workbook: the extract quarantined it whole; search it as bytes is useless
        return None, 0
    removed = 0
    for worksheet in workbook.worksheets:
        if not hasattr(worksheet, "iter_rows"):
            continue
        doomed = [
            row[0].row
            for row in worksheet.iter_rows(min_row=2)
            if row and _values_hit((cell.value for cell in row), matcher)
        ]
        for index in reversed(doomed):
            worksheet.delete_rows(index)
        removed += len(doomed)
    if not removed:
        return None, 0
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), removed


# --- JSON and NDJSON -------------------------------------------------------------------------------------


def _array_items(text: str) -> tuple[str, list[tuple[str, str, str]], str] | None:
    """A JSON array's text as (up to its ``[``, [(whitespace before an item, the item, what follows
    it up to and with its comma)], from its ``]`` on); None when the text is not one array."""
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    if not text[start:].startswith("["):
        return None
    position = start + 1
    items: list[tuple[str, str, str]] = []
    while True:
        rest = text[position:]
        lead = rest[: len(rest) - len(rest.lstrip())]
        at = position + len(lead)
        if text[at : at + 1] == "]":
            if items:  # the whitespace before ``]`` belongs to the last item's tail
                item_lead, item, sep = items[-1]
                items[-1] = (item_lead, item, sep + lead)
                position = at
            break
        try:
            _, end = decoder.raw_decode(text, at)
        except ValueError:
            return None
        rest = text[end:]
        after = end + len(rest) - len(rest.lstrip())
        if text[after : after + 1] == ",":
            after += 1
        elif text[after : after + 1] != "]":
            return None
        items.append((lead, text[at:end], text[end:after]))
        position = after
    return text[: start + 1], items, text[position:]


def _without(parts: tuple[str, list[tuple[str, str, str]], str], hits: list[bool]) -> str:
    head, items, tail = parts
    kept = [item for item, hit in zip(items, hits, strict=True) if not hit]
    if not kept:
        return head + tail
    last_tail = items[-1][2]  # the whitespace before ``]``, no comma
    out = [lead + item + sep for lead, item, sep in kept[:-1]]
    lead, item, _ = kept[-1]
    return head + "".join(out) + lead + item + last_tail + tail


def rewrite_json(data: bytes, matcher: suppression.Suppression) -> tuple[bytes | None, int]:
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        text = data[len(bom) :].decode("utf-8")
        body = json.loads(text)
    except ValueError:
        return _rewrite_lines(data, matcher, keep_first=False)
    if isinstance(body, list):
        parts = _array_items(text)
        hits = [_values_hit([json.dumps(item, ensure_ascii=False)], matcher) for item in body]
        removed = sum(hits)
        if not removed:
            return None, 0
        if parts is not None and len(parts[1]) == len(body):
            return bom + _without(parts, hits).encode("utf-8"), removed
        new_body: object = [item for item, hit in zip(body, hits, strict=True) if not hit]
    elif isinstance(body, dict) and isinstance(body.get("events"), list):
        events = body["events"]
        kept_events = [e for e in events if not _values_hit([json.dumps(e, ensure_ascii=False)], matcher)]
        removed = len(events) - len(kept_events)
        if not removed:
            return None, 0
        new_body = {**body, "events": kept_events}
    else:
        if not _values_hit([json.dumps(body, ensure_ascii=False)], matcher):
            return None, 0
        new_body, removed = [], 1
    indent = 2 if "\n" in text.strip() else None
    return bom + (json.dumps(new_body, ensure_ascii=False, indent=indent) + "\n").encode("utf-8"), removed


def rewrite_ndjson(data: bytes, matcher: suppression.Suppression) -> tuple[bytes | None, int]:
    return _rewrite_lines(data, matcher, keep_first=False)


REWRITERS = {"csv": rewrite_csv, "xlsx": rewrite_xlsx, "json": rewrite_json, "ndjson": rewrite_ndjson}


# --- the drops ------------------------------------------------------------------------------------------


def landing_files(landing_url: str) -> list[tuple[object, str, str]]:
    """``(filesystem, path, format)`` of every file of every drop under the landing folder (any
    fsspec URL) in a format an extractor reads; hidden files (``.``/``_``) are skipped, as the
    extract skips them."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(landing_url)
    try:
        paths = fs.find(root)
    except FileNotFoundError:
        return []
    found = []
    for path in sorted(paths):
        name = posixpath.basename(path)
        kind = FORMATS.get(posixpath.splitext(name)[1].lower())
        if kind and not name.startswith((".", "_")):
            found.append((fs, path, kind))
    return found


def _write(fs, path: str, data: bytes) -> None:
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        directory, name = os.path.split(path)
        tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.erasing")
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    else:
        fs.pipe_file(path, data)


def scrub_landing(
    landing_url: str, matcher: suppression.Suppression, apply: bool, only: set[str] | None = None
) -> list[LandingHit]:
    """Every landing file holding a record of the person, and how many; rewritten without them
    when ``apply`` (a file that cannot be written keeps its records and says why in ``error``);
    ``only``: just these paths (the files an earlier scan found)."""
    hits: list[LandingHit] = []
    if not matcher:
        return hits
    for fs, path, kind in landing_files(landing_url):
        if only is not None and str(path) not in only:
            continue
        data = fs.cat_file(path)  # type: ignore[attr-defined]
        new, removed = REWRITERS[kind](data, matcher)
        if not removed or new is None:
            continue
        hit = LandingHit(path=str(path), format=kind, records=removed)
        if apply:
            try:
                _write(fs, path, new)
            except OSError as error:  # a read-only drop: the rest of the erasure still goes on
                hit.error = f"{type(error).__name__}: {error}"
        hits.append(hit)
    return hits
