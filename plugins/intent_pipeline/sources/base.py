"""What every source extractor shares: the landing file handle, the run context and the row collector.

An extractor's ``parse_file(file, ctx, builders)`` appends each input row either to
the raw rows (``builder.add``) or to quarantine (``builder.reject``) of one table, and
returns a :class:`FileOutcome`. Row accounting (read == loaded + quarantined) follows
from that: a row read is handed to exactly one of the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from intent_pipeline.sources.normalize import PhoneNormalizer

# Rows buffered per table before they are written as a Parquet row group (bounds memory on big drops).
FLUSH_ROWS = 25_000


@dataclass
class LandingFile:
    """One file of a drop folder, read through fsspec."""

    fs: Any
    path: str  # path inside ``fs``
    rel: str  # relative to the landing root: <source>/dt=YYYY-MM-DD/<name>; goes into _source_file

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    def read_bytes(self) -> bytes:
        with self.fs.open(self.path, "rb") as handle:
            return handle.read()

    def open(self):
        """A binary file object (for streaming JSONL line by line)."""
        return self.fs.open(self.path, "rb")


@dataclass
class ExtractContext:
    """The run-wide values an extractor needs: source timezone, interval and the shared phone cache."""

    source_tz: tzinfo
    interval_start: date
    loaded_at: datetime
    batch_id: str
    phones: PhoneNormalizer = field(default_factory=PhoneNormalizer)
    # the erased people's identifier hashes (privacy.suppression.Suppression); None or empty: none
    suppression: Any = None


@dataclass
class FileOutcome:
    """What happened to one file: the table its rows went to and a file-level error, if any."""

    table: str
    read: int  # rows read, counted independently of where they went (checked against loaded + quarantined)
    error: str | None = None
    # What a person should know although nothing was rejected: renamed, unknown or missing optional columns.
    warnings: list[str] = field(default_factory=list)


# Longest raw_content kept for one quarantined row: a 100 MB field must not make a 100 MB quarantine cell.
MAX_RAW_CONTENT = 100_000
# int64, the lake's integer type
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def storable_text(value: str) -> str:
    """``value`` as text Parquet can hold: lone surrogates (``\\ud83d`` from JSON, undecodable file names)
    become their ``\\udxxx`` escape instead of failing the whole write."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def raw_json(value: Any) -> str:
    """The original row as JSON text for quarantine ``raw_content`` (never raises; cut at MAX_RAW_CONTENT)."""
    try:
        content = json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError, TypeError):  # nested too deeply, or a circular value
        content = repr(value)[:MAX_RAW_CONTENT]
    return clip(content)


def clip(content: str) -> str:
    """Quarantine text: storable, and cut at MAX_RAW_CONTENT characters with a marker saying so."""
    content = storable_text(content)
    if len(content) > MAX_RAW_CONTENT:
        return content[:MAX_RAW_CONTENT] + f"... [cut: {len(content)} characters in all]"
    return content


def unstorable(row: dict, text_checked: bool = False) -> str | None:
    """Why ``row`` cannot be loaded as it is, or None: a lone surrogate in a text value (JSON's
    ``\\ud83d`` escape without its pair), text holding U+FFFD (garbled before it reached us) or an
    integer outside int64.

    ``text_checked``: the caller knows no text value can hold either (its whole input line has neither a
    ``\\u`` escape nor U+FFFD, see :func:`clean_text`); only the integers are checked."""
    for name, value in row.items():
        if isinstance(value, str):
            if text_checked:
                continue
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"invalid text in '{name}': lone surrogate {value[exc.start]!r} at character {exc.start}"
            if "\ufffd" in value:  # the file itself holds the replacement mark: the text was garbled upstream
                return f"garbled text in '{name}': U+FFFD (a character an earlier decoding lost) in {value[:80]!r}"
        elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            return f"'{name}' out of range for a 64-bit integer: {value}"
    return None


def clean_text(line: str) -> bool:
    """True when no text parsed from ``line`` (decoded strictly, so without lone surrogates itself) can
    hold a lone surrogate or U+FFFD: the line has no ``\\u`` escape and no U+FFFD."""
    return "\\u" not in line and "\ufffd" not in line


class TableBuilder:
    """Collects the raw and quarantined rows of one table and streams them into the partition writers."""

    def __init__(self, table: str, ctx: ExtractContext, raw_writer, quarantine_writer, flush_rows: int = FLUSH_ROWS):
        from intent_pipeline import lake

        self.table = table
        self.ctx = ctx
        self.raw_writer = raw_writer
        self.quarantine_writer = quarantine_writer
        self.flush_rows = flush_rows
        self.columns = [name for name, _ in lake.TABLE_COLUMNS[table]] + ["extra"]
        self._rows: list[dict] = []
        self._files: list[str] = []
        self._numbers: list[int] = []
        self._rejected: list[tuple[str, int, str, str]] = []
        self.loaded = 0
        self.quarantined = 0
        self.suppressed = 0  # rows of erased people dropped before the lake (privacy.suppression)

    def _suppressed(self, row: dict | None = None, raw_content: str | None = None) -> bool:
        """The one suppression hook: a row holding an erased person's identifier is counted, never kept."""
        suppression = self.ctx.suppression
        if not suppression:
            return False
        hit = suppression.matches_row(self.table, row) if row is not None else suppression.matches_text(raw_content)
        if hit:
            self.suppressed += 1
        return hit

    def add(
        self, source_file: str, row_number: int, row: dict, text_checked: bool = False, ints_checked: bool = False
    ) -> None:
        """One row that passed every check; missing columns are null.

        A row Parquet cannot hold (see :func:`unstorable`) goes to quarantine with the reason instead:
        one bad value must not fail the write of a whole table. ``text_checked``: see :func:`unstorable`;
        ``ints_checked``: the caller made every integer of the row within int64 itself, so with
        ``text_checked`` too there is nothing left for :func:`unstorable` to find and it is not called.
        """
        if self._suppressed(row=row):
            return
        problem = None if text_checked and ints_checked else unstorable(row, text_checked)
        if problem is not None:
            self.reject(source_file, row_number, problem, raw_json(row))
            return
        self._rows.append(row)
        self._files.append(source_file)
        self._numbers.append(row_number)
        self.loaded += 1
        if len(self._rows) >= self.flush_rows:
            self._flush_raw()

    def reject(self, source_file: str, row_number: int, reason: str, raw_content: str) -> None:
        """One row for quarantine, with the reason and the original row as text (made storable, clipped)."""
        if self._suppressed(raw_content=raw_content):
            return
        self._rejected.append((storable_text(source_file), row_number, clip(reason), clip(raw_content)))
        self.quarantined += 1
        if len(self._rejected) >= self.flush_rows:
            self._flush_quarantine()

    def _meta(self, n: int, files: list[str], numbers: list[int]) -> dict:
        return {
            "_source_file": files,
            "_row_number": numbers,
            "_loaded_at": [self.ctx.loaded_at] * n,
            "_batch_id": [self.ctx.batch_id] * n,
            "_interval_start": [self.ctx.interval_start] * n,
        }

    def _flush_raw(self) -> None:
        import pyarrow as pa

        from intent_pipeline import lake

        rows, n = self._rows, len(self._rows)
        if not n:
            return
        schema = lake.SCHEMAS[self.table]
        # The rows as one struct array, converted in Arrow's C++ (a key a row lacks is null, as row.get gave);
        # its fields are the columns, each converted to its schema type as from_pydict would.
        rows_type = pa.struct([schema.field(name) for name in self.columns])
        data = dict(zip(self.columns, pa.array(rows, type=rows_type).flatten(), strict=True))
        data.update(self._meta(n, self._files, self._numbers))
        self.raw_writer.write(pa.Table.from_pydict(data, schema=schema))
        self._rows, self._files, self._numbers = [], [], []

    def _flush_quarantine(self) -> None:
        import pyarrow as pa

        from intent_pipeline import lake

        rejected, n = self._rejected, len(self._rejected)
        if not n:
            return
        files, numbers, reasons, contents = (list(column) for column in zip(*rejected, strict=True))
        data = self._meta(n, files, numbers)
        data.update(reason=reasons, raw_content=contents)
        self.quarantine_writer.write(pa.Table.from_pydict(data, schema=lake.QUARANTINE_SCHEMA))
        self._rejected = []

    def flush(self) -> None:
        """Write whatever is buffered."""
        self._flush_raw()
        self._flush_quarantine()
