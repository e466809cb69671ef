"""Reading the segment from the warehouse and deciding, row by row, what to send.

The warehouse is opened read-only and closed right after reading: dbt is the
only writer of that file and must never wait on activation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from intent_pipeline.activation.ledger import DEAD_LETTER, LedgerEntry
from intent_pipeline.warehouse_catalog import table_columns

log = logging.getLogger(__name__)

SEGMENT_TABLE = "marts.segment_high_intent"
UPDATES_TABLE = "marts.segment_crm_updates"  # people who left the segment, for CRMs that hold them
SEGMENT_COLUMNS = (
    "person_id", "email", "phone", "full_name", "company", "job_title", "industry", "owner", "crm_lead_id",
    "grade", "score_reasons", "lead_score", "became_hot_in_interval", "scored_at",
    # consent per purpose (privacy.consent): required, so a segment built before consent is refused loudly
    "consent_crm_sync", "consent_chat_alert",
)  # fmt: skip
# read when present (a warehouse built before lead routing lacks them)
OPTIONAL_COLUMNS = (
    "crm_owner_id", "owner_team", "score_reasons_zh", "recycled_from_owner", "alert_round", "recycled_in_interval",
    "merged_person_ids",
)  # fmt: skip

# Stalls (people stuck in a funnel stage): chat destinations alert them, CRMs never see them.
STALLS_TABLE = "marts.segment_funnel_stalls"
STALL = "stall"  # the ``alert_kind`` of a stall row
STALL_COLUMNS = (
    "stall_id", "person_id", "rule_id", "stage", "stall_reason", "opportunity_id", "opportunity_stage",
    "in_stage_since", "stalled_at", "hours_in_stage", "max_hours", "became_stalled_in_interval",
    "email", "phone", "full_name", "company", "job_title", "owner", "crm_lead_id", "is_unsubscribed",
    "consent_chat_alert",
)  # fmt: skip
STALL_OPTIONAL_COLUMNS = ("stall_reason_zh", "lead_score", "grade", "score_reasons", "score_reasons_zh")

# Deliberately loose: the warehouse already normalised emails; this only stops values
# the CRM would reject for certain (no "@", spaces) before they cost a request.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SegmentError(RuntimeError):
    """The segment cannot be read (missing warehouse, table or columns)."""


def read_segment(
    warehouse: Path | str, interval_end: datetime | None = None, engine: str = "duckdb", pg_snapshot: str = ""
) -> list[dict]:
    """Rows of ``marts.segment_high_intent`` as dicts, ordered by ``person_id``, each with
    ``in_segment`` True; then the rows of ``marts.segment_crm_updates`` (people who left the
    segment: CRMs that hold them get their new grade) with ``in_segment`` False, when the
    warehouse has that table; then the stalls of ``marts.segment_funnel_stalls`` (chat alerts
    only) with ``in_segment`` False and ``alert_kind`` ``"stall"``, when it has that one.
    ``engine`` ``postgres``: the marts in Postgres (``postgres_load.PgReader``; ``pg_snapshot``: the
    run's snapshot schemas), not the file."""
    import duckdb

    warehouse = Path(warehouse)
    if engine == "postgres":
        from intent_pipeline.postgres_load import PgReader

        con: Any = PgReader(snapshot=pg_snapshot)
        warehouse = Path("postgres")  # named in the errors below
    elif not warehouse.exists():
        raise SegmentError(f"warehouse {warehouse} does not exist: run dbt build before activation")
    else:
        con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = _read_table(con, SEGMENT_TABLE, warehouse, required=True)
        for row in rows:
            row["in_segment"] = True
        for row in _read_table(con, UPDATES_TABLE, warehouse, required=False):
            row["in_segment"] = False
            rows.append(row)
        for row in _read_table(con, STALLS_TABLE, warehouse, required=False, order="stall_id"):
            row["in_segment"] = False
            row["alert_kind"] = STALL
            rows.append(row)
    finally:
        con.close()
    if interval_end is not None and rows:
        scored = {row["scored_at"] for row in rows if not is_stall(row)}
        if scored != {interval_end}:
            # Not fatal: a manual re-run may activate an older build on purpose. Worth a line in the log.
            log.warning("segment scored at %s, activation interval ends %s", sorted(map(str, scored)), interval_end)
    return rows


def is_stall(row: dict) -> bool:
    """A row of ``marts.segment_funnel_stalls``: an alert for chat, never a CRM record."""
    return row.get("alert_kind") == STALL


def _read_table(con, table: str, warehouse: Path, required: bool, order: str = "person_id, email") -> list[dict]:
    """A segment table's rows (the contract's columns, the optional ones it has); [] when an
    optional table is missing."""
    schema, name = table.split(".")
    found = set(table_columns(con, schema, name))
    if not found:
        if not required:
            return []
        raise SegmentError(f"{table} does not exist in {warehouse}: run dbt build before activation")
    required_columns, optional = (STALL_COLUMNS, STALL_OPTIONAL_COLUMNS) if table == STALLS_TABLE else (
        SEGMENT_COLUMNS, OPTIONAL_COLUMNS)  # fmt: skip
    missing = [c for c in required_columns if c not in found]
    if missing:
        raise SegmentError(f"{table} in {warehouse} lacks columns {missing} (see docs/contracts.md)")
    columns = [*required_columns, *(c for c in optional if c in found)]
    cursor = con.execute(f"select {', '.join(columns)} from {table} order by {order}")
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def payload_hash(fields: dict) -> str:
    """sha256 of the mapped fields as sorted, compact JSON: equal payloads, equal hashes."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Planned:
    """One segment row mapped for a destination."""

    key: str
    fields: dict
    hash: str
    row: dict


@dataclass
class Plan:
    """What a destination run will do: send ``to_send``; the rest is already decided."""

    planned: int = 0
    to_send: list[Planned] = field(default_factory=list)
    unchanged: list[Planned] = field(default_factory=list)
    invalid: list[tuple[str | None, str]] = field(default_factory=list)  # (key, reason)
    dead_lettered: list[tuple[Planned, str]] = field(default_factory=list)  # (item, the destination's last error)
    # candidates held back before planning: their person did not consent to the destination's purpose
    withheld_no_consent: int = 0


def plan_rows(
    rows: Iterable[dict],
    key_of: Callable[[dict], str | None],
    validate: Callable[[dict], str | None],
    map_fields: Callable[[dict], dict],
    entries: dict[str, LedgerEntry],
    is_unchanged: Callable[[Planned, LedgerEntry], bool],
) -> Plan:
    """Split rows into invalid, dead-lettered, unchanged and to-send, against the ledger.

    A key that occurs more than once in the run makes every one of its rows
    invalid: guessing which one is right could overwrite good CRM data. A row the
    destination rejected until it was dead-lettered is not sent again with the same
    payload (it would be rejected again); a changed payload gets a fresh chance.
    """
    rows = list(rows)
    plan = Plan(planned=len(rows))
    counts = Counter(key_of(row) for row in rows)
    for row in rows:
        key = key_of(row)
        reason = validate(row)
        if reason is None and not key:  # each destination's validate already says why; never send without a key
            reason = "the record key is empty"
        if reason is None and counts[key] > 1:
            reason = f"duplicate key {key!r} ({counts[key]} rows in the segment)"
        if reason is not None or not key:
            plan.invalid.append((key or f"person_id:{row.get('person_id')}", reason or "the record key is empty"))
            continue
        fields = map_fields(row)
        item = Planned(key=key, fields=fields, hash=payload_hash(fields), row=row)
        entry = entries.get(key)
        if entry is not None and entry.status == DEAD_LETTER and entry.last_attempt_hash == item.hash:
            plan.dead_lettered.append((item, entry.last_error or "rejected"))
        elif entry is not None and is_unchanged(item, entry):
            plan.unchanged.append(item)
        else:
            plan.to_send.append(item)
    return plan


@dataclass(frozen=True)
class History:
    """What a destination's ledger knows of its past besides its entries, for planning: given by
    ``run_destination`` to ``candidates`` and ``remember`` (chat's first-crossing rules use it; a CRM,
    which keeps the whole segment in sync, needs none of it)."""

    interval: str  # the run's interval: the ISO day of its start
    ran_before: bool = False  # a run (other than this one) or an acknowledgement in the ledger
    seen: frozenset[str] = frozenset()  # the leads it saw hot and did not announce (``Ledger.seen``)
    # that memory started in an earlier run (``Ledger.seen_since``): a lead in the segment it does not know
    # was not alertable when it crossed (and is now). Off (a destination's first run, or a ledger from
    # before the memory): no flood of the leads hot before.
    remembers: bool = False


class KeptInSync:
    """The planning rule of every CRM destination: the whole segment is kept in sync (and the people
    who left it, where the CRM holds them: ``segment_crm_updates``), a row is sent
    again only when its mapped fields changed (or its last attempt failed), in batches of at most
    ``batch_size`` rows built by the destination's ``_body``. CRMs keyed on the person add
    ``person_key`` / ``validate_person``; HubSpot keys on a contact property instead."""

    batch_size: int
    # every CRM receives the person's record: consent to crm_sync is needed (privacy.consent)
    purpose = "crm_sync"

    def key_of(self, row: dict) -> str | None:  # pragma: no cover - abstract
        """The row's record key at the destination (None: the row cannot be sent)."""
        raise NotImplementedError

    def candidates(self, rows: list[dict], entries: dict[str, LedgerEntry], history: History) -> list[dict]:
        """The whole segment is kept in sync, and so is everyone who left it that this CRM was
        sent before (their grade and score there must not stay "high intent"); stalls are chat alerts."""
        return [
            row for row in rows if not is_stall(row) and (row.get("in_segment", True) or self.key_of(row) in entries)
        ]

    def is_unchanged(self, item: Planned, entry: LedgerEntry) -> bool:
        return entry.acknowledged and entry.payload_hash == item.hash

    def bodies(self, items: list[Planned]) -> list[tuple[dict, list[Planned]]]:
        """Request bodies of at most ``batch_size`` rows each, with the rows each one carries."""
        return [
            (self._body(items[i : i + self.batch_size]), items[i : i + self.batch_size])
            for i in range(0, len(items), self.batch_size)
        ]

    def _body(self, items: list[Planned]) -> dict:
        raise NotImplementedError


def person_key(row: dict) -> str | None:
    """The person id of a segment row, trimmed; None when empty."""
    return (str(row.get("person_id") or "").strip()) or None


def validate_person(row: dict, key_name: str) -> str | None:
    """Why a row keyed on its person cannot be sent: no person id, or an email that is no address."""
    if not person_key(row):
        return f"person_id is empty ({key_name})"
    email = (row.get("email") or "").strip()
    if email and not EMAIL_RE.match(email):
        return f"email {email!r} is not an address"
    return None
