"""Reading tabular landing files (CSV in UTF-8/BOM/GBK, XLSX) into a header and numbered data rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from intent_pipeline.sources.base import LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.normalize import BadValue, decode_bytes, text


@dataclass
class Sheet:
    """A tabular file: cleaned header names, data rows with their 1-based numbers, and a read error if any.

    When the file could not be decoded, ``rows`` still holds what a lossy decode found, so that
    every row can go to quarantine with the reason in ``error``.
    """

    headers: list[str]
    rows: list[tuple[int, list]]
    error: str | None = None


def clean_header(header: object) -> str:
    """A header as written, minus a BOM and surrounding spaces."""
    return str(header if header is not None else "").replace("\ufeff", "").strip()


def _numbered(records: Iterator[list] | list[list]) -> tuple[list[str], list[tuple[int, list]]]:
    headers: list[str] | None = None
    rows: list[tuple[int, list]] = []
    number = 0
    for record in records:
        if headers is None:
            headers = [clean_header(h) for h in record]
            continue
        number += 1  # counts every data row, blank ones too, so numbers match the file
        if any(text(cell) is not None for cell in record):
            rows.append((number, list(record)))
    if headers is None:
        return [], []
    # Trailing empty header cells (Excel's used range); a value under one is still kept as column_<n>.
    while headers and headers[-1] == "":
        headers.pop()
    return headers, rows


def read_csv(file: LandingFile, data: bytes | None = None) -> Sheet:
    """A CSV file decoded as UTF-8 (with or without BOM) or GB18030."""
    data = file.read_bytes() if data is None else data
    error = None
    try:
        content = decode_bytes(data)
    except BadValue as exc:
        error = f"undecodable file {file.rel}: {exc}"
        content = data.decode("utf-8", errors="replace")
    try:
        headers, rows = _numbered(csv.reader(io.StringIO(content, newline="")))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit: rows cannot be told apart
        return Sheet([], [], f"malformed CSV file {file.rel}: {exc}")
    return Sheet(headers, rows, error)


def read_xlsx(file: LandingFile, data: bytes | None = None) -> Sheet:
    """The first sheet of an XLSX workbook (openpyxl, read-only); cells keep their types (datetimes, numbers)."""
    import openpyxl

    data = file.read_bytes() if data is None else data
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for damaged files
        return Sheet([], [], f"cannot open XLSX file {file.rel}: {type(exc).__name__}: {exc}")
    try:
        sheet = workbook.worksheets[0]
        headers, rows = _numbered(list(r) for r in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    return Sheet(headers, rows)


def read_sheet(file: LandingFile) -> Sheet:
    """CSV or XLSX by file extension."""
    if file.name.lower().endswith(".xlsx"):
        return read_xlsx(file)
    return read_csv(file)


def row_as_dict(headers: list[str], cells: list) -> dict:
    """The original row keyed by header (for quarantine ``raw_content``); cells beyond the header are kept too."""
    row: dict = {}
    for index, cell in enumerate(cells):
        key = headers[index] if index < len(headers) and headers[index] else f"column_{index + 1}"
        if key in row:
            key = f"{key} (column {index + 1})"
        row[key] = cell
    return row


def reject_sheet(builder: TableBuilder, file: LandingFile, sheet: Sheet, reason: str) -> int:
    """Quarantine every data row of a file rejected as a whole.

    A file that could not be opened at all has no rows to show; it becomes one quarantine row
    numbered 0 (the file itself), so the rejection is visible in quarantine and counted in the manifest.
    Returns the number of rows read (= quarantined).
    """
    if not sheet.rows and not sheet.headers:
        builder.reject(file.rel, 0, reason, raw_json({"file": file.rel}))
        return 1
    for number, cells in sheet.rows:
        builder.reject(file.rel, number, reason, raw_json(row_as_dict(sheet.headers, cells)))
    return len(sheet.rows)


@dataclass
class ColumnMap:
    """Which input column feeds which field; unknown columns go to ``extra``."""

    targets: list[str | None]  # per input column index
    headers: list[str]
    header_of: dict[str, str]  # field -> header as written in the file

    @classmethod
    def build(cls, headers: list[str], mapping: dict[str, str]) -> ColumnMap:
        """``mapping``: header -> field, compared on trimmed, case-folded headers."""
        folded = {clean_header(h).casefold(): field for h, field in mapping.items()}
        targets: list[str | None] = []
        header_of: dict[str, str] = {}
        for header in headers:
            field = folded.get(header.casefold())
            if field is not None and field in header_of:
                field = None  # a repeated column: the first one counts, the copy is kept in extra
            targets.append(field)
            if field is not None:
                header_of[field] = header
        return cls(targets, headers, header_of)

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
