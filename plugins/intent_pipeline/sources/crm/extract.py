"""Parse one CRM report CSV into ``crm_leads``, ``crm_opportunities``, ``crm_orders`` or ``crm_activities`` rows."""

from __future__ import annotations

from intent_pipeline.sources.base import ExtractContext, FileOutcome, LandingFile, TableBuilder, raw_json
from intent_pipeline.sources.crm.formats import CRM_FORMATS, LOST_STAGES, WON_STAGES
from intent_pipeline.sources.locale import FileLocale, SourceLocale, amount, moment
from intent_pipeline.sources.normalize import BadValue, email, identifier, text
from intent_pipeline.sources.tabular import (
    ColumnMap,
    read_csv,
    refuse_repeated_header,
    reject_damaged,
    reject_sheet,
    row_as_dict,
)

TABLES = tuple(CRM_FORMATS)
FILE_TYPES = (".csv",)
# Where rows of a file that is none of the four reports are quarantined.
FALLBACK_TABLE = "crm_leads"


def table_for(name: str, headers: list[str]) -> str | None:
    """The report a file holds: by file-name prefix, else by the header row (at least half its headers)."""
    lowered = name.lower()
    for table, spec in CRM_FORMATS.items():
        if lowered.startswith(spec["prefix"]):
            return table
    present = {h.casefold() for h in headers}
    best, best_share = None, 0.0
    for table, spec in CRM_FORMATS.items():
        expected = {h.casefold() for h in spec["columns"]}
        share = len(present & expected) / len(expected)
        if share > best_share:
            best, best_share = table, share
    return best if best_share >= 0.5 else None


def _stage_flags(stage: str | None) -> tuple[bool | None, bool | None]:
    if stage is None:
        return None, None
    key = " ".join(stage.casefold().replace("-", " ").split())
    is_won = key in WON_STAGES
    return is_won or key in LOST_STAGES or key.startswith("closed"), is_won


def parse_row(table: str, values: dict, header_of: dict, ctx: ExtractContext, locale: FileLocale | None = None) -> dict:
    """One CRM report row as a raw row of ``table``; BadValue says why it goes to quarantine.

    ``locale``: the file's decimal separator and day/month order (:mod:`intent_pipeline.sources.locale`).
    """
    for field in CRM_FORMATS[table]["required"]:
        # an id is read as the staging keys it (identifier): a cell of spaces or invisible characters alone
        # is no id, and a CRM row without one is quarantined here, the one place the rule lives
        # (docs/incremental.md, "CRM staging")
        parsed = identifier(values.get(field)) if field.endswith("_id") else text(values.get(field))
        if parsed is None:
            raise BadValue(f"empty required field '{field}' ({header_of[field]})")
    row: dict = {}
    for field, value in values.items():
        try:
            if field.endswith("_at"):
                row[field] = moment(value, ctx.source_tz, locale)
            elif field == "amount":
                row[field] = amount(value, locale)
            elif field == "email":
                row[field] = email(value)
            elif field == "phone":
                row["phone_raw"] = text(value)
                row["phone"] = ctx.phones(row["phone_raw"])
            elif field.endswith("_id"):
                row[field] = identifier(value)
            else:
                row[field] = text(value)
        except BadValue as exc:
            raise BadValue(f"invalid '{header_of[field]}': {exc}") from None
    if table == "crm_opportunities":
        row["is_closed"], row["is_won"] = _stage_flags(row.get("stage"))
    return row


def parse_file(file: LandingFile, ctx: ExtractContext, builders: dict[str, TableBuilder]) -> FileOutcome:
    """Append the report's rows to its table (raw or quarantine)."""
    sheet = read_csv(file)
    table = table_for(file.name, sheet.headers)
    error = sheet.error
    if error is None and table is None and sheet.headers:
        error = (
            f"unrecognised CRM report {file.rel}: name is not leads*/opportunities*/orders*/activities* and header "
            f"{sheet.headers[:30]} matches none of them"
        )
    table = table or FALLBACK_TABLE
    builder = builders[table]
    spec = CRM_FORMATS[table]
    if error is None and not sheet.headers and sheet.rows:
        error = f"no header row in {file.rel}"
    if error is None and sheet.headers:
        columns = ColumnMap.build(sheet.headers, spec["columns"])
        for field in spec["required"]:
            if field not in columns.header_of:
                header = next(h for h, target in spec["columns"].items() if target == field)
                error = f"missing required column '{field}' ({header}) in {file.rel}"
                break
    if error:
        return FileOutcome(table, reject_sheet(builder, file, sheet, error), error)
    columns = ColumnMap.build(sheet.headers, spec["columns"])
    split = [(number, cells, *columns.split(cells)) for number, cells in sheet.rows]
    # The file's own conventions, from all its values (1,5 anywhere makes 1,234 a decimal comma too).
    locale = SourceLocale.from_env("crm").for_file(
        (values.get("amount") for _, _, values, _ in split),
        (value for _, _, values, _ in split for field, value in values.items() if field.endswith("_at")),
    )
    for number, cells, values, extra in split:
        try:
            refuse_repeated_header(sheet, cells)
            row = parse_row(table, values, columns.header_of, ctx, locale)
        except BadValue as exc:
            builder.reject(file.rel, number, str(exc), raw_json(row_as_dict(sheet.headers, cells)))
            continue
        row["extra"] = extra
        builder.add(file.rel, number, row)
    warnings = columns.warnings(file.rel, spec["columns"]) if sheet.headers else []  # an empty file: nothing to say
    warnings += [f"{file.rel}: {note}" for note in sheet.notes]
    return FileOutcome(table, len(sheet.rows) + reject_damaged(builder, file, sheet), warnings=warnings)
