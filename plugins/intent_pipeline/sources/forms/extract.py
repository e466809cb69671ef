"""Parse one form export into ``forms_submissions`` rows; the tool is recognised by the header row."""

from __future__ import annotations

import re

from intent_pipeline.sources.base import ExtractContext, FileOutcome, LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.forms.formats import (
    ALIASES,
    FORM_FORMATS,
    MIN_HEADER_MATCH,
    REQUIRED_FIELDS,
    aliases,
    header_key,
)
from intent_pipeline.sources.locale import FileLocale, SourceLocale, moment
from intent_pipeline.sources.normalize import (
    BadValue,
    email,
    excel_serial,
    field_value,
    identifier,
    text,
    timestamp,
)
from intent_pipeline.sources.tabular import (
    ColumnMap,
    Sheet,
    UncachedFormula,
    read_sheets,
    refuse_repeated_header,
    reject_damaged,
    reject_sheet,
    row_as_dict,
)

TABLE = "forms_submissions"
TABLES = (TABLE,)
FILE_TYPES = (".csv", ".xlsx")

_CJK = re.compile(r"[\u3400-\u9fff]")


def recognise(headers: list[str]) -> str | None:
    """The form tool whose headers this header row carries best (at least MIN_HEADER_MATCH of them), or None."""
    present = {header_key(h) for h in headers}
    best, best_share = None, 0.0
    for tool, spec in FORM_FORMATS.items():
        expected = {header_key(h) for h in spec["columns"]}
        share = len(present & expected) / len(expected)
        if share > best_share:
            best, best_share = tool, share
    return best if best_share >= MIN_HEADER_MATCH else None


def _full_name(values: dict) -> str | None:
    if "first_name" not in values and "last_name" not in values:
        return text(values.get("full_name"))
    first, last = text(values.get("first_name")), text(values.get("last_name"))
    if first and last:
        # Chinese names are family name first, without a space.
        return f"{last}{first}" if _CJK.search(first + last) else f"{first} {last}"
    return first or last or text(values.get("full_name"))


def _submitted_at(value, ctx: ExtractContext, locale: FileLocale | None = None):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timestamp(excel_serial(value), ctx.source_tz)  # an XLSX date cell without a date format
    return moment(value, ctx.source_tz, locale)  # ISO, YYYY/M/D, or 11/21/2026 in the file's day/month order


def file_error(where: str, sheet: Sheet) -> tuple[str | None, str | None]:
    """(tool, error): the recognised tool, or why the whole file (or sheet) ``where`` is rejected."""
    if sheet.error:
        return None, sheet.error
    if not sheet.headers:
        # An empty file has nothing to load; rows under a blank header row cannot be read.
        return None, f"no header row in {where}" if sheet.rows else None
    tool = recognise(sheet.headers)
    if tool is None:
        known = ", ".join(FORM_FORMATS)
        return None, f"unrecognised header set in {where}: {sheet.headers[:30]} (known form tools: {known})"
    # The columns the rows are read with decide (another tool's name or spelling for a field counts): a
    # required field is missing when no column feeds it, also for a tool whose entry names no such column.
    columns = ColumnMap.build(sheet.headers, FORM_FORMATS[tool]["columns"], ALIASES)
    for field in REQUIRED_FIELDS:
        if field not in columns.header_of:
            return tool, f"missing required column '{field}' ({'/'.join(aliases(field))}) in {where}"
    return tool, None


def parse_file(file: LandingFile, ctx: ExtractContext, builders: dict[str, TableBuilder]) -> FileOutcome:
    """Append the file's submissions to ``forms_submissions`` (raw or quarantine).

    Every non-empty sheet of a workbook is read: row numbers continue from one sheet to the next.
    A later sheet without a recognised header is quarantined whole (its first row included, since a
    sheet that continues the data has no header) and named in the file's error.
    """
    builder = builders[TABLE]
    sheets = read_sheets(file)
    read, offset, errors, notes = 0, 0, [], []
    first_tool = None
    for index, sheet in enumerate(sheets):
        where = file.rel if len(sheets) == 1 else f"{file.rel} sheet {sheet.name!r}"
        tool, error = file_error(where, sheet)
        if error and index > 0 and first_tool is not None and not sheet.error and tool is None:
            error = f"{error}; its {sheet.size + 1} rows (the first row included) are quarantined"
            data = Sheet(sheet.headers, [(0, sheet.header_cells), *sheet.rows], name=sheet.name)
            read += reject_sheet(builder, file, data, error, offset + 1)
            offset += sheet.size + 1
            errors.append(error)
            continue
        if error:
            read += reject_sheet(builder, file, sheet, error, offset)
            offset += sheet.size
            errors.append(error)
            continue
        if tool is None:  # an empty file or sheet
            continue
        first_tool = first_tool or tool
        columns = ColumnMap.build(sheet.headers, FORM_FORMATS[tool]["columns"], ALIASES)
        notes += [f"{where}: {note}" for note in sheet.notes]
        notes += columns.warnings(where, FORM_FORMATS[tool]["columns"])
        read += _parse_rows(file, sheet, tool, columns, offset, ctx, builder)
        read += reject_damaged(builder, file, sheet, offset)
        offset += sheet.size
    return FileOutcome(TABLE, read, "; ".join(errors) or None, notes)


def _parse_rows(
    file: LandingFile, sheet: Sheet, tool: str, columns: ColumnMap, offset: int, ctx: ExtractContext,
    builder: TableBuilder,
) -> int:  # fmt: skip
    header_of = columns.header_of
    phones = ctx.phones
    split = [(number + offset, cells, *columns.split(cells)) for number, cells in sheet.rows]
    locale = SourceLocale.from_env("forms").for_file((), (values.get("submitted_at") for _, _, values, _ in split))
    for number, cells, values, extra in split:
        try:
            refuse_repeated_header(sheet, cells)
            uncached = [
                f"'{h}' ({c})" for h, c in zip(sheet.headers, cells, strict=False) if isinstance(c, UncachedFormula)
            ]
            if uncached:
                raise BadValue(
                    f"formula without a saved value in {', '.join(uncached)}: the file was written without "
                    "computing it (open and save it in Excel, or export values)"
                )
            submitted_raw = values.get("submitted_at")
            if text(submitted_raw) is None:
                raise BadValue(f"empty required field 'submitted_at' ({header_of['submitted_at']})")
            submitted_at = field_value(
                header_of["submitted_at"], lambda raw: _submitted_at(raw, ctx, locale), submitted_raw
            )
            # a file without an email column has no value to be invalid
            address = field_value(header_of.get("email", "email"), email, values.get("email"))
            phone_raw = text(values.get("phone"))
            if address is None and phone_raw is None:
                raise BadValue(
                    f"no email or phone (both '{header_of.get('email')}' and '{header_of.get('phone')}' empty)"
                )
        except BadValue as exc:
            builder.reject(file.rel, number, str(exc), raw_json(row_as_dict(sheet.headers, cells)))
            continue
        builder.add(
            file.rel,
            number,
            {
                "submission_id": identifier(values.get("submission_id")),
                "form_tool": tool,
                "form_name": text(values.get("form_name")),
                "full_name": _full_name(values),
                "email": address,
                "phone": phones(phone_raw),
                "phone_raw": phone_raw,
                "company": text(values.get("company")),
                "job_title": text(values.get("job_title")),
                "industry": text(values.get("industry")),
                "company_size": text(values.get("company_size")),
                "lead_source": text(values.get("lead_source")),
                "client_id": identifier(values.get("client_id")),
                "submitted_at": submitted_at,
                "consent": text(values.get("consent")),
                "extra": extra,
            },
        )
    return len(sheet.rows)
