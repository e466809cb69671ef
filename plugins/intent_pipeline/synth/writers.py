"""Writers for one landing drop (``<landing>/<source>/dt=YYYY-MM-DD/``), exactly in the formats of docs/contracts.md.

Web and email events are streamed to disk as they are generated (200k people make millions
of them); form and CRM rows are few, so they are buffered and written sorted by time when
the drop is closed, as the vendors' exports are.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

from .consent import crm_email_opt_out, form_consent

JINSHUJU_HEADER = [
    "序号",
    "表单名称",
    "姓名",
    "手机号",
    "邮箱",
    "公司",
    "职位",
    "行业",
    "公司规模",
    "提交时间",
    "来源",
    "client_id",
    "个人信息授权",  # the consent checkbox (synth.consent)
]
TYPEFORM_HEADER = [
    "Submission ID",
    "Form",
    "Full Name",
    "Email Address",
    "Phone Number",
    "Company",
    "Job Title",
    "Industry",
    "Company Size",
    "Submitted At",
    "UTM Source",
    "client_id",
    "Privacy Consent",  # the consent Legal question (synth.consent)
]
HUBSPOT_HEADER = [
    "Conversion ID",
    "Form name",
    "First Name",
    "Last Name",
    "Email",
    "Phone number",
    "Company name",
    "Job title",
    "Industry",
    "Number of employees",
    "Conversion date",
    "Original source",
    "client_id",
]
LEADS_HEADER = [
    "Lead ID",
    "Email",
    "Phone",
    "Name",
    "Company",
    "Title",
    "Industry",
    "Employees",
    "Region",
    "Owner",
    "Status",
    "Lead Source",
    "Created Date",
    "Last Modified Date",
    "Email Opt Out",  # Salesforce's HasOptedOutOfEmail (synth.consent)
]
OPPORTUNITIES_HEADER = [
    "Opportunity ID",
    "Lead ID",
    "Opportunity Name",
    "Stage",
    "Amount",
    "Currency",
    "Created Date",
    "Close Date",
    "Last Stage Change Date",
]
ORDERS_HEADER = ["Order ID", "Lead ID", "Email", "Amount", "Currency", "Order Date"]
# Outcome: a call's disposition or a meeting's outcome (HubSpot's values); empty for emails and tasks
ACTIVITIES_HEADER = ["Activity ID", "Lead ID", "Type", "Subject", "Owner", "Activity Date", "Outcome"]

SOURCE_UTC_OFFSET = timedelta(hours=8)  # Asia/Shanghai has had no daylight saving time since 1991
EPOCH = datetime(1970, 1, 1)
EMAIL_BATCH_SIZE = 1000
WEB_LINES_PER_FILE = 250_000


class RowWriter(Protocol):
    """A ``csv.writer``."""

    def writerow(self, row: Iterable[Any], /) -> Any: ...


# A buffered CRM row: (time, person_key, the row's values, planted_reason)
CrmRow = tuple[int, str, list[str], str]


def local_time(ts: int) -> datetime:
    """Naive Asia/Shanghai wall-clock time of an epoch second, as form tools and the CRM write it."""
    return EPOCH + timedelta(seconds=ts) + SOURCE_UTC_OFFSET


@dataclass
class Planted:
    """Where a deliberately bad row ended up, so tests can find it in quarantine."""

    source: str
    table: str
    file: str
    row_number: int
    record_key: str
    person_key: str
    reason: str


@dataclass
class FormRow:
    """One buffered form submission; ``values`` follow the tool's header except the id, assigned at write time."""

    ts: int
    tool: str  # jinshuju | jinshuju_gbk | typeform | hubspot_forms
    record_key: str  # empty for jinshuju: the 序号 is numbered when the file is written
    person_key: str
    values: list[str | int | datetime]
    planted_reason: str = ""
    email: str = ""  # the address as written, for the list membership of the person
    phone: str = ""  # the national number behind the phone as written (for the truth's E.164)
    hub_kind: str = ""  # the row carries an identifier shared with other people (ground truth)
    typo_new_device: bool = False  # a mistyped email on a device seen nowhere else (ground truth)


class SendGridBatches:
    """Streams SendGrid Event Webhook POST bodies (JSON arrays of at most ``EMAIL_BATCH_SIZE`` events).

    An event marked as a duplicate delivery is sent again 20 to 3000 events later (often in a later
    body), the way the webhook re-posts events when an earlier POST timed out.
    """

    def __init__(self, folder: Path, stem: str, rng: random.Random):
        self.folder, self.stem, self.rng = folder, stem, rng
        self.buffer: list[str] = []
        self.pending: list[tuple[int, str]] = []  # (send when this many events were written, event)
        self.files = 0
        self.events = 0
        self.duplicates = 0

    def _name(self) -> str:
        return f"{self.stem}_{self.files + 1:05d}.json"

    def add(self, event: dict[str, object], duplicate: bool = False) -> tuple[str, int]:
        """Queue one event; return (file name, 1-based array index) where it will be written."""
        while self.pending and self.pending[0][0] <= self.events:
            self._append(self.pending.pop(0)[1])
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        where = self._append(text)
        if duplicate:
            self.pending.append((self.events + self.rng.randint(20, 3000), text))
            self.pending.sort(key=lambda x: x[0])
            self.duplicates += 1
        return where

    def _append(self, text: str) -> tuple[str, int]:
        if len(self.buffer) >= EMAIL_BATCH_SIZE:
            self._flush()
        self.buffer.append(text)
        self.events += 1
        return self._name(), len(self.buffer)

    def _flush(self) -> None:
        if not self.buffer:
            return
        # One event per line inside the array keeps the files diffable; still a single JSON array.
        body = "[\n" + ",\n".join(self.buffer) + "\n]\n"
        (self.folder / self._name()).write_text(body, encoding="utf-8")
        self.files += 1
        self.buffer = []

    def close(self) -> None:
        """Write the held-back duplicates and the last body."""
        while self.pending:
            self._append(self.pending.pop(0)[1])
        self._flush()


class Ga4Shards:
    """Streams GA4 BigQuery-export NDJSON lines into shards of at most ``WEB_LINES_PER_FILE`` lines."""

    def __init__(self, folder: Path, stem: str):
        self.folder, self.stem = folder, stem
        self.handle: TextIO | None = None
        self.lines_in_file = 0
        self.files = 0
        self.lines = 0

    def add(self, line: str) -> tuple[str, int]:
        """Write one line (without newline); return (file name, 1-based line number)."""
        handle = self.handle
        if handle is None or self.lines_in_file >= WEB_LINES_PER_FILE:
            handle = self._rotate()
        handle.write(line + "\n")
        self.lines_in_file += 1
        self.lines += 1
        return self._name(self.files), self.lines_in_file

    def _name(self, n: int) -> str:
        return f"{self.stem}_{n:03d}.jsonl"

    def _rotate(self) -> TextIO:
        if self.handle is not None:
            self.handle.close()
        self.files += 1
        self.lines_in_file = 0
        self.handle = (self.folder / self._name(self.files)).open("w", encoding="utf-8", newline="\n")
        return self.handle

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


@dataclass
class DropWriter:
    """All files of one arrival day. Call :meth:`close` once, drops in chronological order."""

    landing: Path
    day: date
    rng: random.Random
    forms: list[FormRow] = field(default_factory=list)
    leads: list[CrmRow] = field(default_factory=list)
    opportunities: list[CrmRow] = field(default_factory=list)
    orders: list[CrmRow] = field(default_factory=list)
    activities: list[CrmRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dirs: dict[str, Path] = {}
        for source in ("forms", "email", "web", "crm"):
            folder = self.landing / source / f"dt={self.day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():  # a rerun into the same folder must not leave files of the last run
                if old.is_file():
                    old.unlink()
            self.dirs[source] = folder
        stamp = self.day.strftime("%Y%m%d")
        self.email = SendGridBatches(self.dirs["email"], f"sendgrid_webhook_{stamp}", self.rng)
        self.web = Ga4Shards(self.dirs["web"], f"ga4_events_{stamp}")
        self.stamp = stamp
        self.planted: list[Planted] = []
        self.files = {"forms": 0, "crm": 0}
        self.rows = {"forms": 0, "crm": 0}
        self.table_rows = {"crm_leads": 0, "crm_opportunities": 0, "crm_orders": 0, "crm_activities": 0}

    def rel(self, source: str, name: str) -> str:
        return f"{source}/dt={self.day.isoformat()}/{name}"

    # -- forms -------------------------------------------------------------------------------------

    def close(self, jinshuju_counter: list[int], records: RowWriter) -> None:
        """Write buffered forms and CRM files, finish the streams; ``records`` is the truth csv.writer
        (``source, record_key, person_key, hub_kind, typo_new_device``)."""
        self.email.close()
        self.web.close()
        self._write_forms(jinshuju_counter, records)
        self._write_crm()

    def _write_forms(self, jinshuju_counter: list[int], records: RowWriter) -> None:
        by_tool: dict[str, list[FormRow]] = {"jinshuju": [], "jinshuju_gbk": [], "typeform": [], "hubspot_forms": []}
        for row in self.forms:
            by_tool[row.tool].append(row)
        for rows in by_tool.values():
            # Exports are sorted by submission time; planted rows stay where they were put (at the end).
            rows.sort(key=lambda r: (bool(r.planted_reason), r.ts, r.record_key))
        self._write_jinshuju(f"jinshuju_{self.stamp}.csv", "utf-8-sig", by_tool["jinshuju"], jinshuju_counter, records)
        self._write_jinshuju(
            f"jinshuju_{self.stamp}_gbk.csv", "gbk", by_tool["jinshuju_gbk"], jinshuju_counter, records
        )
        name = f"typeform_responses_{self.stamp}.csv"
        with (self.dirs["forms"] / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(TYPEFORM_HEADER)
            for i, row in enumerate(by_tool["typeform"], 1):
                w.writerow([row.record_key, *row.values, form_consent(row.person_key, row.ts, "typeform")])
                self._form_written(name, i, row, row.record_key, records)
        self._write_hubspot(f"hubspot_form_submissions_{self.stamp}.xlsx", by_tool["hubspot_forms"], records)
        self.files["forms"] += 4

    def _form_written(self, name: str, row_number: int, row: FormRow, key: str, records: RowWriter) -> None:
        self.rows["forms"] += 1
        records.writerow(["forms", key, row.person_key, row.hub_kind, int(row.typo_new_device)])
        if row.planted_reason:
            self.planted.append(
                Planted(
                    "forms",
                    "forms_submissions",
                    self.rel("forms", name),
                    row_number,
                    key,
                    row.person_key,
                    row.planted_reason,
                )
            )

    def _write_jinshuju(
        self, name: str, encoding: str, rows: list[FormRow], counter: list[int], records: RowWriter
    ) -> None:
        # newline="" and the csv module's \r\n: what Excel and jinshuju's exporter produce.
        with (self.dirs["forms"] / name).open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f)
            w.writerow(JINSHUJU_HEADER)
            for i, row in enumerate(rows, 1):
                counter[0] += 1
                key = str(counter[0])
                w.writerow([key, *row.values, form_consent(row.person_key, row.ts, "jinshuju")])
                self._form_written(name, i, row, key, records)

    def _write_hubspot(self, name: str, rows: list[FormRow], records: RowWriter) -> None:
        import xlsxwriter

        workbook = xlsxwriter.Workbook(str(self.dirs["forms"] / name), {"constant_memory": True})
        # A fixed creation time keeps the file byte-identical across reruns with the same seed.
        workbook.set_properties({"created": datetime(2026, 1, 1), "author": "HubSpot", "title": "Form submissions"})
        sheet = workbook.add_worksheet("Submissions")
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, HUBSPOT_HEADER)
        date_col = HUBSPOT_HEADER.index("Conversion date")
        for i, row in enumerate(rows, 1):
            values = [row.record_key, *row.values]
            for col, value in enumerate(values):
                if col == date_col and isinstance(value, datetime):
                    sheet.write_datetime(i, col, value, when)
                elif isinstance(value, int | float):
                    sheet.write_number(i, col, value)
                elif value:
                    sheet.write_string(i, col, value)
            self._form_written(name, i, row, row.record_key, records)
        workbook.close()

    # -- crm ---------------------------------------------------------------------------------------

    def _write_crm(self) -> None:
        for table, header, rows, stem in (
            ("crm_leads", LEADS_HEADER, self.leads, "leads"),
            ("crm_opportunities", OPPORTUNITIES_HEADER, self.opportunities, "opportunities"),
            ("crm_orders", ORDERS_HEADER, self.orders, "orders"),
            ("crm_activities", ACTIVITIES_HEADER, self.activities, "activities"),
        ):
            name = f"{stem}_{self.stamp}.csv"
            write_crm_report(self.dirs["crm"] / name, table, header, rows)
            for i, (_ts, person_key, row, reason) in enumerate(rows, 1):
                if reason:
                    self.planted.append(Planted("crm", table, self.rel("crm", name), i, row[0], person_key, reason))
            self.files["crm"] += 1
            self.rows["crm"] += len(rows)
            self.table_rows[table] += len(rows)


def write_crm_report(path: Path, table: str, header: list[str], rows: list[CrmRow]) -> None:
    """One CRM report file of ``table``: ``rows`` sorted in place (planted rows last, then by time and
    id) and written under ``header`` (a lead row gets its Email Opt Out)."""
    rows.sort(key=lambda r: (bool(r[3]), r[0], r[2][0]))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for _ts, person_key, row, _reason in rows:
            w.writerow([*row, crm_email_opt_out(person_key)] if table == "crm_leads" else row)


@dataclass
class OpportunityHistory:
    """The CRM's daily incremental opportunity exports of the days before the first drop
    (``crm/dt=<day>/opportunities_<YYYYMMDD>.csv``: each opportunity changed that day, as it stood at
    the day's end), which a backfill of those days extracts."""

    landing: Path
    by_day: dict[date, list[CrmRow]] = field(default_factory=dict)
    files: int = 0
    rows: int = 0

    def close(self) -> None:
        for day in sorted(self.by_day):
            folder = self.landing / "crm" / f"dt={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():  # a rerun into the same folder must not leave files of the last run
                if old.is_file():
                    old.unlink()
            rows = self.by_day[day]
            write_crm_report(folder / f"opportunities_{day.strftime('%Y%m%d')}.csv", "crm_opportunities",
                             OPPORTUNITIES_HEADER, rows)  # fmt: skip
            self.files += 1
            self.rows += len(rows)
