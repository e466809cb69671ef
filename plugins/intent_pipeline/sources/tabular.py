"""Reading tabular landing files (CSV in UTF-8/BOM/UTF-16/GBK, XLSX with every sheet) into headers and numbered rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from intent_pipeline.sources.base import LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.encoding import DoubtfulEncoding, decode_text
from intent_pipeline.sources.normalize import BadValue, text

# Longest CSV field read (the csv module's default is 128 KiB).
MAX_FIELD = 64 * 1024 * 1024


@dataclass
class Sheet:
    """A tabular file: cleaned header names, data rows with their 1-based numbers, and a read error if any.

    When the file could not be decoded, ``rows`` still holds what a lossy decode found, so that
    every row can go to quarantine with the reason in ``error``.
    """

    headers: list[str]
    rows: list[tuple[int, list]]
    error: str | None = None
    name: str | None = None  # the worksheet's name (XLSX)
    size: int = 0  # data rows counted, blank ones included (the next sheet's numbers continue after them)
    header_cells: list = field(default_factory=list)  # the header row as read, for a sheet whose header is data
    notes: list[str] = field(default_factory=list)  # what is read differently from the file's face (merged headers)
    # A CSV cut mid-row (an interrupted download): its broken tail, one entry per physical line, numbered
    # after the complete rows (which load), each quarantined with ``damage`` by :func:`reject_damaged`.
    damaged: list[tuple[int, list]] = field(default_factory=list)
    damage: str | None = None


def _short(header: str) -> str:
    return repr(header if len(header) <= 60 else header[:60] + "…")


def _fold(header: str) -> str:
    # "Job Title", "job_title" and "JOB  TITLE" are one name
    return " ".join(clean_header(header).replace("_", " ").split()).casefold()


def clean_header(header: object) -> str:
    """A header as written, minus a BOM and surrounding spaces."""
    return str(header if header is not None else "").replace("\ufeff", "").strip()


def _numbered(records: Iterator[list] | list[list], name: str | None = None) -> Sheet:
    header_cells: list | None = None
    rows: list[tuple[int, list]] = []
    number = 0
    for record in records:
        if header_cells is None:
            header_cells = list(record)
            continue
        number += 1  # counts every data row, blank ones too, so numbers match the file
        if any(text(cell) is not None for cell in record):
            rows.append((number, list(record)))
    if header_cells is None:
        return Sheet([], [], name=name)
    headers = [clean_header(h) for h in header_cells]
    # Trailing empty header cells (Excel's used range); a value under one is still kept as column_<n>.
    while headers and headers[-1] == "":
        headers.pop()
    return Sheet(headers, rows, name=name, size=number, header_cells=header_cells)


def _delimiter(content: str) -> str:
    """Comma, unless the header line has none and has tabs (Excel's "Unicode text") or semicolons
    (Excel where the decimal separator is a comma)."""
    first = next((line for line in content.splitlines() if line.strip()), "")
    if "," in first:
        return ","
    tabs, semicolons = first.count("\t"), first.count(";")
    if tabs or semicolons:
        return "\t" if tabs >= semicolons else ";"
    return ","


def read_csv(file: LandingFile, data: bytes | None = None) -> Sheet:
    """A CSV file: encoding decided by :func:`~intent_pipeline.sources.encoding.decode_text` (a doubtful one
    keeps a lossy decoding in ``rows`` and the reason in ``error``), delimiter from the header line."""
    data = file.read_bytes() if data is None else data
    error = None
    try:
        content = decode_text(data).text
    except DoubtfulEncoding as exc:
        error = f"undecodable file {file.rel}: {exc}"
        content = exc.lossy
    if "\x00" in content:
        # The csv module refuses NUL; a NUL in text is damage (or a binary file), never data.
        error = error or f"undecodable file {file.rel}: NUL character at offset {content.index(chr(0))}"
        content = content.replace("\x00", "\ufffd")
    csv.field_size_limit(MAX_FIELD)  # the default 128 KiB would reject a whole file for one long note
    delimiter = _delimiter(content)
    try:
        # strict first: it is the mode that notices a quote left open at the end (a truncated file), which
        # the lenient mode reads as one field swallowing every row after it
        sheet = _numbered(record for record, _ in _complete_records(content, delimiter))
    except _OpenQuote as cut:
        if cut.complete_lines == 0:  # the header itself is cut: nothing can be told apart
            return _lines(content, f"malformed CSV file {file.rel}: a quoted field is never closed ({cut.error})")
        sheet = _numbered(record for record, _ in cut.records)
        tail = io.StringIO(content, newline="").readlines()[cut.complete_lines :]
        _cut_short(
            sheet, [[line.rstrip("\r\n")] for line in tail],
            f"the file ends inside a quoted field opened on or before this line (a truncated or damaged export; "
            f"csv: {cut.error}): the line is quarantined, the complete rows before it load",
        )  # fmt: skip
    except csv.Error:
        try:  # a stray quote inside a field (``5" screen``): Excel reads such files, so do we
            sheet = _numbered(record for record, _ in _records(content, delimiter, strict=False))
        except csv.Error as exc:
            return _lines(content, f"malformed CSV file {file.rel}: {exc}")
    if sheet.rows and not sheet.damaged and not content.endswith(("\n", "\r")):
        number, cells = sheet.rows[-1]
        if number == sheet.size and len(cells) < len(sheet.headers):
            # a last row with fewer fields than the header and no line break: the download stopped mid-row,
            # and its last field may be cut too (a client id, a date), so it is not loaded
            sheet.rows.pop()
            sheet.size -= 1
            _cut_short(
                sheet, [cells],
                f"the file ends mid-row: the last line has {len(cells)} of {len(sheet.headers)} fields and no line "
                "break (a truncated export)",
            )  # fmt: skip
    sheet.error = error
    return sheet


class _OpenQuote(Exception):
    """The strict reader reached the end of the file inside a quoted field."""

    def __init__(self, records: list[tuple[list, int]], complete_lines: int, error: csv.Error) -> None:
        super().__init__(str(error))
        self.records, self.complete_lines, self.error = records, complete_lines, error


def _records(content: str, delimiter: str, *, strict: bool) -> Iterator[tuple[list, int]]:
    """(record, physical lines read so far) for each record: a record ends where the csv module says
    (a line end outside quotes; ``\r``, ``\n`` or ``\r\n``)."""
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=strict)
    for record in reader:
        yield record, reader.line_num


def _complete_records(content: str, delimiter: str) -> list[tuple[list, int]]:
    """Every record of a strict read with its end line; :class:`_OpenQuote` with the complete ones and
    the physical lines they took when a quoted field is still open at the end of the file."""
    records: list[tuple[list, int]] = []
    lines = 0
    try:
        for record, lines in _records(content, delimiter, strict=True):  # noqa: B007 (lines read after the loop)
            records.append((record, lines))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise _OpenQuote(records, lines, exc) from None
        raise
    return records


def csv_record_texts(content: str, delimiter: str) -> list[tuple[list, str]]:
    """Each record of a CSV text as :func:`read_csv` tells them apart, with its exact text (line ends and
    quoting as written), for a rewrite that keeps every other record byte for byte (erasure in the landing
    drops): strict read first, a stray quote inside a field (``5" screen``) read leniently, and after a
    quoted field left open at the end (a cut export) every physical line one record of its own text, as
    read_csv quarantines them. :class:`csv.Error` when read_csv too could only cut the file by lines."""
    csv.field_size_limit(MAX_FIELD)
    try:
        records = _complete_records(content, delimiter)
    except _OpenQuote as cut:
        records = cut.records
    except csv.Error:
        records = list(_records(content, delimiter, strict=False))
    lines = io.StringIO(content, newline="").readlines()
    texts: list[tuple[list, str]] = []
    start = 0
    for record, end in records:
        texts.append((record, "".join(lines[start:end])))
        start = end
    texts += [([line.rstrip("\r\n")], line) for line in lines[start:]]
    return texts


def _cut_short(sheet: Sheet, tail: list[list], reason: str) -> None:
    """Record a truncated CSV's broken tail (non-blank lines) after the sheet's complete rows."""
    for index, cells in enumerate(tail, 1):
        if any(text(cell) is not None for cell in cells):
            sheet.damaged.append((sheet.size + index, cells))
    sheet.size += len(tail)
    sheet.damage = reason
    sheet.notes.append(f"the file is cut short: {len(sheet.damaged)} line(s) at its end quarantined ({reason})")


def _lines(content: str, error: str) -> Sheet:
    """A CSV whose rows cannot be told apart: every non-blank physical line after the first is a row
    (for quarantine, with ``error``), so nothing in it goes uncounted."""
    lines = content.splitlines()
    rows = [(number, [line]) for number, line in enumerate(lines[1:], 1) if line.strip()]
    return Sheet([], rows, error, size=max(len(lines) - 1, 0))


@dataclass(frozen=True)
class UncachedFormula:
    """A formula cell saved without its computed value (some generators do that): openpyxl reads it as
    empty, which would load a null where the sheet shows a value. Its row is quarantined instead."""

    formula: str

    def __str__(self) -> str:
        return self.formula


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


_MERGE = re.compile(rb"<(?:\w+:)?mergeCell ")


def _has_xml(data: bytes, pattern: re.Pattern) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(
                name.startswith("xl/worksheets/") and pattern.search(archive.read(name)) for name in archive.namelist()
            )
    except Exception:  # a damaged archive: openpyxl says what is wrong with it
        return False


def _header_merges(data: bytes) -> dict[int, list[tuple[int, int]]]:
    """Per worksheet index, the (first, last) 0-based columns of every merged range in the header row."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))  # read-only sheets do not expose merged ranges
    try:
        return {
            index: [(r.min_col - 1, r.max_col - 1) for r in worksheet.merged_cells.ranges if r.min_row == 1]
            for index, worksheet in enumerate(workbook.worksheets)
            if hasattr(worksheet, "merged_cells")
        }
    finally:
        workbook.close()


def _unmerge_header(sheet: Sheet, first: int, last: int) -> None:
    """A header cell merged over columns first..last names the one column of the span that holds values
    (Excel shows the name over all of them; the file stores it in the first), so that column's values
    are the field's instead of landing in ``extra`` as ``column_<n>``."""
    cells = sheet.header_cells
    if last <= first or first >= len(cells) or cells[first] is None:
        return
    span = range(first, min(last, len(cells) - 1) + 1)
    counts = {c: sum(1 for _, row in sheet.rows if c < len(row) and text(row[c]) is not None) for c in span}
    filled = [c for c in span if counts[c]]
    if len(filled) != 1 or filled[0] == first:
        return  # values under the first column, under none, or under several: kept as written
    target = filled[0]
    name = clean_header(cells[first])
    cells[target], cells[first] = cells[first], None
    headers = [clean_header(h) for h in cells]
    while headers and headers[-1] == "":
        headers.pop()
    sheet.headers = headers
    sheet.notes.append(
        f"header {name!r} is merged over columns {first + 1}-{last + 1}; read from column {target + 1}, "
        "the one holding its values"
    )


def _with_formulas(values, formulas):
    """Rows of cached values, with an :class:`UncachedFormula` where a formula cell has no cached value."""
    for row, formula_row in zip(values, formulas, strict=False):
        cells = list(row)
        for index, (cell, formula) in enumerate(zip(cells, formula_row, strict=False)):
            if cell is None and isinstance(formula, str) and formula.startswith("="):
                cells[index] = UncachedFormula(formula)
        yield cells


def read_xlsx(file: LandingFile, data: bytes | None = None) -> list[Sheet]:
    """Every non-empty worksheet of an XLSX workbook, in order (openpyxl, read-only; cells keep their types).

    A workbook that cannot be opened or read is one Sheet with the error. A formula cell without a
    cached value is an :class:`UncachedFormula`, not an empty cell.
    """
    import openpyxl

    data = file.read_bytes() if data is None else data
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = (
            openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            if _has_xml(data, _FORMULA)
            else None
        )
        merges = _header_merges(data) if _has_xml(data, _MERGE) else {}
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for damaged files
        return [Sheet([], [], f"cannot open XLSX file {file.rel}: {type(exc).__name__}: {exc}")]
    sheets = []
    try:
        for index, worksheet in enumerate(workbook.worksheets):
            if not hasattr(worksheet, "iter_rows"):  # a chartsheet holds no cells
                continue
            records = (list(r) for r in worksheet.iter_rows(values_only=True))
            if formulas is not None:
                records = _with_formulas(records, formulas.worksheets[index].iter_rows(values_only=True))
            sheet = _numbered(records, name=worksheet.title)
            for first, last in merges.get(index, ()):
                _unmerge_header(sheet, first, last)
            if sheet.headers or sheet.rows:
                sheets.append(sheet)
    except Exception as exc:  # damaged sheet XML surfaces while iterating
        return [Sheet([], [], f"cannot read XLSX file {file.rel}: {type(exc).__name__}: {exc}")]
    finally:
        workbook.close()
        if formulas is not None:
            formulas.close()
    return sheets or [Sheet([], [])]


def read_sheets(file: LandingFile) -> list[Sheet]:
    """CSV (one sheet) or XLSX (every non-empty worksheet) by file extension."""
    if file.name.lower().endswith(".xlsx"):
        return read_xlsx(file)
    return [read_csv(file)]


def row_as_dict(headers: list[str], cells: list) -> dict:
    """The original row keyed by header (for quarantine ``raw_content``); cells beyond the header are kept too."""
    row: dict = {}
    for index, cell in enumerate(cells):
        key = headers[index] if index < len(headers) and headers[index] else f"column_{index + 1}"
        if key in row:
            key = f"{key} (column {index + 1})"
        row[key] = cell
    return row


def refuse_repeated_header(sheet: Sheet, cells: list) -> None:
    """:class:`BadValue` (the row is quarantined) when a data row is the header row again (two exports
    joined into one file, a report pasted under another): its cells, cleaned as headers are, are the
    sheet's headers."""
    named = [clean_header(cell) for cell in cells[: len(sheet.headers)]]
    rest = [cell for cell in cells[len(sheet.headers) :] if text(cell) is not None]
    if sheet.headers and named == sheet.headers and not rest:
        raise BadValue("the header row repeated as a data row (two exports joined into one file?)")


def reject_damaged(builder: TableBuilder, file: LandingFile, sheet: Sheet, offset: int = 0) -> int:
    """Quarantine a truncated CSV's broken tail (``sheet.damaged``) with ``sheet.damage``; returns the rows read."""
    for number, cells in sheet.damaged:
        builder.reject(file.rel, offset + number, sheet.damage or "", raw_json(row_as_dict(sheet.headers, cells)))
    return len(sheet.damaged)


def reject_sheet(builder: TableBuilder, file: LandingFile, sheet: Sheet, reason: str, offset: int = 0) -> int:
    """Quarantine every data row of a file (or sheet) rejected as a whole; ``offset`` is added to row numbers.

    A file that could not be opened at all has no rows to show; it becomes one quarantine row
    numbered 0 (the file itself), so the rejection is visible in quarantine and counted in the manifest.
    Returns the number of rows read (= quarantined).
    """
    if not sheet.rows and not sheet.headers:
        builder.reject(file.rel, 0, reason, raw_json({"file": file.rel}))
        return 1
    for number, cells in sheet.rows:
        builder.reject(file.rel, offset + number, reason, raw_json(row_as_dict(sheet.headers, cells)))
    return len(sheet.rows) + reject_damaged(builder, file, sheet, offset)


@dataclass
class ColumnMap:
    """Which input column feeds which field; unknown columns go to ``extra``."""

    targets: list[str | None]  # per input column index
    headers: list[str]
    header_of: dict[str, str]  # field -> header as written in the file
    renamed: dict[str, str] = field(default_factory=dict)  # field -> header found through another tool's name

    @classmethod
    def build(cls, headers: list[str], mapping: dict[str, str], aliases: dict[str, str] | None = None) -> ColumnMap:
        """``mapping``: header -> field, compared on trimmed, case-folded headers.

        ``aliases`` (folded header -> field, every name any tool uses) maps a header this tool's
        ``mapping`` does not know to a field the file lacks, e.g. ``Company`` for HubSpot's
        ``Company name``: the value lands in its column and :meth:`warnings` names the rename.
        """
        folded = {_fold(h): field for h, field in mapping.items()}
        targets: list[str | None] = []
        header_of: dict[str, str] = {}
        for header in headers:
            field = folded.get(_fold(header))
            if field is not None and field in header_of:
                field = None  # a repeated column: the first one counts, the copy is kept in extra
            targets.append(field)
            if field is not None:
                header_of[field] = header
        renamed: dict[str, str] = {}
        wanted = set(mapping.values())
        for index, header in enumerate(headers):
            field = (aliases or {}).get(_fold(header))
            if targets[index] is None and field in wanted and field not in header_of:
                targets[index] = field
                header_of[field] = renamed[field] = header
        return cls(targets, headers, header_of, renamed)

    def warnings(self, where: str, mapping: dict[str, str]) -> list[str]:
        """Renamed columns, columns kept in ``extra`` and optional columns missing, each by name."""
        expected = {field: header for header, field in reversed(list(mapping.items()))}
        notes = [
            f"{where}: column {_short(header)} read as {field} (this export's name for it is '{expected[field]}')"
            for field, header in self.renamed.items()
        ]
        unknown = [h for h, target in zip(self.headers, self.targets, strict=False) if target is None and h]
        if unknown:
            notes.append(f"{where}: unrecognised column(s) kept in extra: {', '.join(map(_short, unknown[:20]))}")
        missing = [f"{field} ('{header}')" for field, header in expected.items() if field not in self.header_of]
        if missing:
            notes.append(f"{where}: optional column(s) missing, loaded as null: {', '.join(missing)}")
        return notes

    def split(self, cells: list) -> tuple[dict, str | None]:
        """(field -> cell value, ``extra`` JSON text or None) for one row."""
        values: dict = {}
        extra: dict = {}
        n_targets = len(self.targets)
        for index, cell in enumerate(cells):
            field = self.targets[index] if index < n_targets else None
            if field is not None:
                values[field] = cell
            else:
                named = index < n_targets and self.headers[index]
                value = text(cell)
                if value is not None or named:
                    extra[self.headers[index] if named else f"column_{index + 1}"] = value
        if not extra:
            return values, None
        from intent_pipeline.sources.normalize import dumps

        return values, dumps(extra)
