"""Erasure that follows the identity graph (docs/privacy.md, "Erasure").

``python -m intent_pipeline erase --email … | --phone … | --person-id … --reason …`` (or ``--file``
with many requests) erases people:

1. **Find** every identifier linked to the person: the identity graph's nodes of each person id
   the request reaches (``intermediate.int_identity_person_ids``, ids merged into it included),
   the person ids themselves, the raw lake rows holding any of those identifiers (their values as
   typed: ``phone_raw``, the email before canonicalisation), and the funnel stalls' ids (chat ledger keys).
2. **Suppress**: the salted hashes of all of them go to the suppression list every extract applies.
3. **Rewrite the lake**: every raw and quarantine partition holding such a row is rewritten without
   it (atomically, as an extract does) and its manifest counts the rows as ``suppressed``; the
   landing drops (the sources' export files, every format) lose the person's records
   (:mod:`intent_pipeline.privacy.landing`).
4. **Delete at the destinations** whose ledger holds the person (HubSpot's GDPR delete, Salesforce
   delete, the webhook's ``forget``; nothing for chat); a delete that fails is kept in
   ``<state>/privacy/pending_deletes.json`` (``erase --retry-pending`` sends it again).
5. **Scrub**: the ledger (rows deleted, row log keys hashed, the file vacuumed), the activation
   history Parquet, the outbox (CRM batches lose the person's records, chat messages the lines
   naming them), reports and logs (identifiers replaced by ``[erased:<hash>]``).
6. **Rebuild**: rows holding the person are deleted from every table of the warehouse (the
   incremental ones keep rows across builds), ``dbt build`` runs for the last built interval, the
   file is compacted (freed blocks still hold old values), the run snapshots are removed and the
   serving copy is published again (older Parquet versions removed). ``rebuild=False`` leaves that
   to the next run (the DAG rebuilds; the incremental tables are still cleaned now).
7. **Record** the request in the audit trail (hashes and counts only).

``dry_run=True`` does step 1 and lists everything the other steps would touch, changing nothing.
Run it while no DAG run is building (pause the DAG): it needs the warehouse's write lock.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intent_pipeline.privacy import landing, mask, seeds, suppression
from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("email", "phone", "person_id")
MARKER = "[erased:{}]"
TEXT_SUFFIXES = (".json", ".jsonl", ".md", ".txt", ".log", ".csv", ".html")
CRM_LIST_FIELDS = ("inputs", "records")


class ErasureError(RuntimeError):
    """An erasure request that cannot be carried out (bad request, warehouse locked)."""


@dataclass(frozen=True)
class ErasureRequest:
    kind: str  # email | phone | person_id
    value: str
    reason: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ErasureError(f"an erasure request is by {', '.join(KINDS)}, not {self.kind!r}")
        if not str(self.value or "").strip():
            raise ErasureError(f"an erasure request by {self.kind} needs a value")
        if not str(self.reason or "").strip():
            raise ErasureError("an erasure request needs a reason (--reason), recorded in the audit trail")


def read_request_file(path: Path, default_reason: str | None = None) -> list[ErasureRequest]:
    """Requests from a CSV file (header ``kind,value,reason``; or columns ``email``, ``phone``,
    ``person_id`` and ``reason``) or a JSON Lines file of objects with the same keys."""
    text = Path(path).read_text(encoding="utf-8-sig")
    if Path(path).suffix.lower() in (".jsonl", ".json"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    requests: list[ErasureRequest] = []
    for number, row in enumerate(rows, start=1):
        reason = (row.get("reason") or default_reason or "").strip()
        if row.get("kind"):
            requests.append(ErasureRequest(row["kind"].strip(), str(row.get("value") or "").strip(), reason))
            continue
        given = [(kind, str(row[kind]).strip()) for kind in KINDS if row.get(kind) and str(row[kind]).strip()]
        if not given:
            raise ErasureError(f"{path}: request {number} names no email, phone or person_id")
        requests += [ErasureRequest(kind, value, reason) for kind, value in given]
    if not requests:
        raise ErasureError(f"{path}: no erasure request in the file")
    return requests


@dataclass
class Linked:
    """What one erasure reaches."""

    person_ids: set[str] = field(default_factory=set)
    identifiers: set[tuple[str, str]] = field(default_factory=set)  # (kind, value) graph nodes and ids
    names: set[str] = field(default_factory=set)  # full names: only for scrubbing chat text
    stall_ids: set[str] = field(default_factory=set)
    typed_values: set[str] = field(default_factory=set)  # identifier values as the raw rows hold them

    def search_values(self) -> set[str]:
        """Every text form to search for: values, normalised forms, node keys, person ids."""
        found: set[str] = set(self.typed_values)
        for kind, value in self.identifiers:
            found |= suppression.forms_of(kind, value)
            found.add(value.strip().lower())
            if kind in ("email", "phone", "web", "ga4_user", "crm_lead"):
                found.add(f"{kind}:{value}".lower())
        found |= {p.lower() for p in self.person_ids}
        return {v for v in found if v and len(v) >= 4}

    def ledger_keys(self) -> set[str]:
        keys = {value.strip().lower() for kind, value in self.identifiers if kind == "email"}
        keys |= self.person_ids
        keys |= {f"{person_id}#{n}" for person_id in self.person_ids for n in range(1, 10)}
        return keys


def _canonical_node(kind: str, value: str) -> str | None:
    if kind == "email":
        from intent_pipeline.identity import mailbox

        # the graph's key of the address however the request spells it (capitals, full-width, mailto:)
        try:
            canonical = mailbox(value)
        except ValueError:
            return None
        return f"email:{canonical}" if canonical else None
    if kind == "phone":
        phone = suppression.normalised_phone(value)
        return f"phone:{phone}" if phone else None
    return None


def _split_node(node_key: str) -> tuple[str, str]:
    kind, _, value = node_key.partition(":")
    return kind, value


def _table_exists(con, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(row and row[0])


def resolve(warehouse: Path, requests: Sequence[ErasureRequest]) -> Linked:
    """Follow the identity graph from each request to every linked identifier (read-only)."""
    import duckdb

    linked = Linked()
    start_nodes: set[str] = set()
    for request in requests:
        if request.kind == "person_id":
            linked.person_ids.add(request.value.strip())
            continue
        node = _canonical_node(request.kind, request.value)
        if node is None:
            raise ErasureError(
                f"{request.kind} {mask.mask_email(request.value) or '***'} is not a valid {request.kind}"
            )
        start_nodes.add(node)
        linked.identifiers.add(_split_node(node))
        linked.typed_values.add(request.value.strip().lower())
    if not Path(warehouse).exists():
        return linked
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if _table_exists(con, "intermediate", "int_identity_person_ids"):
            if start_nodes:
                rows = con.execute(
                    "select distinct person_id from intermediate.int_identity_person_ids where node_key in "
                    "(select unnest(?::varchar[]))",
                    [sorted(start_nodes)],
                ).fetchall()
                linked.person_ids |= {r[0] for r in rows if r[0]}
            if _table_exists(con, "intermediate", "int_identity_merged_ids") and linked.person_ids:
                ids = sorted(linked.person_ids)
                rows = con.execute(
                    "select person_id, merged_person_id from intermediate.int_identity_merged_ids "
                    "where person_id in (select unnest(?::varchar[])) "
                    "or merged_person_id in (select unnest(?::varchar[]))",
                    [ids, ids],
                ).fetchall()
                linked.person_ids |= {value for row in rows for value in row if value}
            if linked.person_ids:
                rows = con.execute(
                    "select distinct node_key from intermediate.int_identity_person_ids "
                    "where person_id in (select unnest(?::varchar[]))",
                    [sorted(linked.person_ids)],
                ).fetchall()
                linked.identifiers |= {_split_node(r[0]) for r in rows if r[0]}
        ids = sorted(linked.person_ids)
        if ids and _table_exists(con, "marts", "people"):
            for email, phone, full_name, lead_id in con.execute(
                "select email, phone, full_name, crm_lead_id from marts.people where person_id in "
                "(select unnest(?::varchar[]))",
                [ids],
            ).fetchall():
                linked.identifiers |= {
                    (k, v) for k, v in (("email", email), ("phone", phone), ("crm_lead", lead_id)) if v
                }
                if full_name and len(full_name.strip()) >= 2:
                    linked.names.add(full_name.strip())
        if ids and _table_exists(con, "marts", "segment_funnel_stalls"):
            rows = con.execute(
                "select stall_id from marts.segment_funnel_stalls where person_id in (select unnest(?::varchar[]))",
                [ids],
            ).fetchall()
            linked.stall_ids |= {r[0] for r in rows if r[0]}
    finally:
        con.close()
    return linked


# --- the lake ---------------------------------------------------------------------------------------


def _matcher(linked: Linked, key_salt: str) -> suppression.Suppression:
    pairs: list[tuple[str | None, str]] = list(linked.identifiers)
    pairs += [("person_id", person_id) for person_id in linked.person_ids]
    return suppression.Suppression(frozenset(suppression.hashes_of(pairs, key_salt)), key_salt)


def _row_mask(zone: str, table: str, data, matcher: suppression.Suppression):
    """A boolean array: the rows of ``data`` (a pyarrow Table) that hold an erased identifier."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = pa.array([False] * data.num_rows, type=pa.bool_())
    if zone == "raw":
        for column, kind in suppression.IDENTIFIER_COLUMNS.get(table, {}).items():
            values = data.column(column)
            unique = pc.unique(values).to_pylist()
            matched = [v for v in unique if v is not None and matcher._hit(kind, v)]
            if matched:
                hit = pc.or_(hit, pc.fill_null(pc.is_in(values, value_set=pa.array(matched, type=values.type)), False))
        return hit
    contents = data.column("raw_content").to_pylist()
    return pa.array([matcher.matches_text(text) for text in contents], type=pa.bool_())


def lake_partitions(settings: Settings) -> Iterable[tuple[str, str, Path]]:
    """``(zone, table, part file)`` of every raw and quarantine partition."""
    from intent_pipeline import lake

    for zone in lake.ZONES:
        for table in lake.TABLE_COLUMNS:
            folder = Path(settings.lake_dir) / zone / table
            if folder.exists():
                for part in sorted(folder.glob("dt=*/" + lake.PART_FILE)):
                    yield zone, table, part


def _typed_values(data, table: str, hit, matcher: suppression.Suppression) -> set[str]:
    """The linked identifiers' values as the hit rows store them (``phone_raw`` as typed, an email
    before canonicalisation); never another identifier of those rows (a shared switchboard phone on
    her form is not hers to suppress)."""
    import pyarrow.compute as pc

    rows = data.filter(hit)
    found: set[str] = set()
    for column, kind in suppression.IDENTIFIER_COLUMNS.get(table, {}).items():
        values = pc.unique(rows.column(column)).to_pylist()
        found |= {str(v).strip().lower() for v in values if v and matcher._hit(kind, v)}
    return found


def scan_lake(settings: Settings, linked: Linked, matcher: suppression.Suppression) -> list[dict]:
    """Every partition holding an erased person's rows: ``{zone, table, path, rows, by_file}``.

    The typed values of the rows found are added to ``linked.typed_values``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = []
    for zone, table, part in lake_partitions(settings):
        data = pq.read_table(part)
        if data.num_rows == 0:
            continue
        hit = _row_mask(zone, table, data, matcher)
        count = pc.sum(pc.cast(hit, "int64")).as_py() or 0
        if not count:
            continue
        if zone == "raw":
            linked.typed_values |= _typed_values(data, table, hit, matcher)
        files = data.filter(hit).column("_source_file").to_pylist()
        by_file: dict[str, int] = {}
        for name in files:
            by_file[name] = by_file.get(name, 0) + 1
        found.append({"zone": zone, "table": table, "path": str(part), "rows": int(count), "by_file": by_file})
    return found


def rewrite_partition(settings: Settings, entry: dict, matcher: suppression.Suppression) -> int:
    """Rewrite one partition without the erased rows (atomically, as an extract writes it) and move
    their count in the interval's manifest from loaded/quarantined to ``suppressed``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from intent_pipeline import lake

    part = Path(entry["path"])
    data = pq.read_table(part)
    hit = _row_mask(entry["zone"], entry["table"], data, matcher)
    kept = data.filter(pc.invert(hit))
    removed = data.num_rows - kept.num_rows
    day = part.parent.name.removeprefix("dt=")
    with lake.PartitionWriter(settings.lake_dir, entry["zone"], entry["table"], day) as writer:
        writer.write(kept)
        writer.commit()
    _move_counts(settings, entry, day, removed)
    return removed


def _move_counts(settings: Settings, entry: dict, day: str, removed: int) -> None:
    from intent_pipeline import lake

    source = next(s for s, tables in lake.SOURCE_TABLES.items() if entry["table"] in tables)
    try:
        manifest = lake.read_manifest(settings.lake_dir, source, day)
    except FileNotFoundError:
        return
    column = "loaded" if entry["zone"] == "raw" else "quarantined"
    counts = manifest.get("tables", {}).get(entry["table"])
    if counts is not None:
        counts[column] = counts.get(column, 0) - removed
        counts["suppressed"] = counts.get("suppressed", 0) + removed
    for file_entry in manifest.get("files", []):
        n = entry["by_file"].get(file_entry.get("path"), 0)
        if n and file_entry.get("table") == entry["table"]:
            file_entry[column] = file_entry.get(column, 0) - n
            file_entry["suppressed"] = file_entry.get("suppressed", 0) + n
    lake.write_manifest(settings.lake_dir, source, day, manifest)


# --- text, the outbox, the ledger and the activation history --------------------------------------


def search_pattern(values: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive pattern for every value (longest first), not inside a longer word."""
    ordered = sorted({v for v in values if v}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![\w.+-])(?:" + "|".join(re.escape(v) for v in ordered) + r")(?![\w-])", re.IGNORECASE)


def _marker(match: re.Match) -> str:
    return MARKER.format((mask.hashed_key(match.group(0)) or "")[:12])


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
    os.replace(tmp, path)


def text_files(folders: Iterable[Path]) -> Iterable[Path]:
    for folder in folders:
        if folder and Path(folder).exists():
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and (path.suffix.lower() in TEXT_SUFFIXES or ".log" in path.name):
                    yield path


def scrub_text(path: Path, pattern: re.Pattern, apply: bool) -> int:
    """Replace every occurrence in a text file with ``[erased:<hash>]``; returns how many there were."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return 0
    hits = len(pattern.findall(text))
    if hits and apply:
        _write_text(path, pattern.sub(_marker, text))
    return hits


def _mentions(value: Any, pattern: re.Pattern) -> bool:
    return bool(pattern.search(json.dumps(value, ensure_ascii=False, default=str)))


def _drop_lines(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return "\n".join(line for line in value.split("\n") if not pattern.search(line))
    if isinstance(value, dict):
        return {k: _drop_lines(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_lines(v, pattern) for v in value]
    return value


def scrub_outbox_file(path: Path, pattern: re.Pattern, apply: bool) -> str | None:
    """A CRM batch loses the records that mention the person (the file goes when none is left); a chat
    message loses its lines that mention them (name, email, phone). Returns what was (or would be) done."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "scrubbed" if scrub_text(path, pattern, apply) else None
    if not _mentions(body, pattern):
        return None
    action = "scrubbed"
    if isinstance(body, dict) and any(isinstance(body.get(k), list) for k in CRM_LIST_FIELDS):
        for key in CRM_LIST_FIELDS:
            if isinstance(body.get(key), list):
                body[key] = [item for item in body[key] if not _mentions(item, pattern)]
        if not any(body.get(k) for k in CRM_LIST_FIELDS if isinstance(body.get(k), list)):
            action = "removed"
    else:
        body = _drop_lines(body, pattern)
    if _mentions(body, pattern):  # anything left (a key, a title): replace it
        body = json.loads(pattern.sub(_marker, json.dumps(body, ensure_ascii=False)))
    if apply:
        if action == "removed":
            path.unlink()
        else:
            _write_text(path, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return action


def ledger_holdings(ledger_path: Path, keys: set[str]) -> list[tuple[str, str, str]]:
    """``(destination, record_key, status)`` of every ledger row of the person (stall keys included)."""
    if not ledger_path.exists():
        return []
    db = sqlite3.connect(ledger_path)
    try:
        rows = db.execute("select destination, record_key, status from activation_ledger").fetchall()
    finally:
        db.close()
    return [row for row in rows if _is_key(row[1], keys)]


def _is_key(record_key: str | None, keys: set[str]) -> bool:
    if not record_key:
        return False
    key = record_key.strip().lower()
    if key in keys:
        return True
    if key.startswith("stall:"):
        return key.split(":", 1)[1].split("@", 1)[0] in keys
    return False


def scrub_ledger(ledger_path: Path, keys: set[str], pattern: re.Pattern | None) -> dict[str, int]:
    """Delete the person's ledger, in-flight and seen rows, hash their row-log keys and drop the reasons
    that name them, then VACUUM (SQLite keeps deleted rows in free pages otherwise). Returns the rows
    of each table, under its own name: ``ledger_rows`` (activation_ledger), ``in_flight_rows``
    (activation_in_flight), ``seen_rows`` (activation_seen) deleted, ``row_log_rows`` rewritten."""
    counts = {"ledger_rows": 0, "in_flight_rows": 0, "seen_rows": 0, "row_log_rows": 0}
    if not ledger_path.exists():
        return counts
    db = sqlite3.connect(ledger_path)
    try:
        db.execute("pragma secure_delete = on")
        with db:
            for table, count in (("activation_ledger", "ledger_rows"), ("activation_in_flight", "in_flight_rows"),
                                 ("activation_seen", "seen_rows")):  # fmt: skip
                if not db.execute("select 1 from sqlite_master where name = ?", (table,)).fetchone():
                    continue  # a ledger from before the table
                rows = db.execute(f"select rowid, record_key from {table}").fetchall()  # noqa: S608 - fixed names
                doomed = [(rowid,) for rowid, key in rows if _is_key(key, keys)]
                db.executemany(f"delete from {table} where rowid = ?", doomed)  # noqa: S608 - fixed names
                counts[count] += len(doomed)
            rows = db.execute("select rowid, record_key, reason from activation_row_log").fetchall()
            for rowid, key, reason in rows:
                named = _is_key(key, keys) or bool(pattern and reason and pattern.search(reason))
                if named:
                    db.execute(
                        "update activation_row_log set record_key = ?, reason = ? where rowid = ?",
                        (_hashed_key(key), "[erased]" if reason else reason, rowid),
                    )
                    counts["row_log_rows"] += 1
        db.execute("vacuum")
    finally:
        db.close()
    return counts


def _hashed_key(key: str | None) -> str | None:
    return None if key is None else "erased:" + (mask.hashed_key(key) or "")


def scrub_history(settings: Settings, keys: set[str], pattern: re.Pattern | None, apply: bool) -> int:
    """The activation history Parquet (``<lake>/activation``): the person's record keys hashed,
    reasons naming them dropped; each file rewritten beside itself and renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    changed = 0
    folder = Path(settings.lake_dir) / "activation"
    if not folder.exists():
        return 0
    for path in sorted(folder.rglob("*.parquet")):
        data = pq.read_table(path)
        if "record_key" not in data.column_names:
            continue
        rows = data.to_pylist()
        hits = 0
        for row in rows:
            text_columns = [c for c in ("reason", "last_error") if c in row]
            named = _is_key(row.get("record_key"), keys) or any(
                pattern is not None and row.get(c) and pattern.search(row[c]) for c in text_columns
            )
            if named:
                hits += 1
                row["record_key"] = _hashed_key(row.get("record_key"))
                for column in text_columns:
                    row[column] = "[erased]" if row.get(column) else row.get(column)
        if hits:
            changed += hits
            if apply:
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
                pq.write_table(pa.Table.from_pylist(rows, schema=data.schema), tmp)
                os.replace(tmp, path)
    return changed


# --- the warehouse ------------------------------------------------------------------------------


def warehouse_rows(warehouse: Path, values: set[str], apply: bool) -> dict[str, int]:
    """Rows of every base table in schemas staging, intermediate and marts with a text column equal
    (case-insensitively) to an erased value; deleted when ``apply``. The incremental tables
    (stable person ids, id changes, score history, lead assignments) keep rows from build to build:
    a rebuild alone would leave the person in them."""
    import duckdb

    found: dict[str, int] = {}
    if not Path(warehouse).exists() or not values:
        return found
    try:
        con = duckdb.connect(str(warehouse), read_only=not apply)
    except duckdb.IOException as error:
        raise ErasureError(
            f"cannot open the warehouse {warehouse}: {error}. A dbt build (or another process) holds it: "
            "pause the DAG and erase when no run is building."
        ) from error
    try:
        con.execute("create temp table erased_values as select unnest(?::varchar[]) as value", [sorted(values)])
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name in ('staging', 'intermediate', 'marts') and not temporary order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() where database_name = current_database() "
                    "and schema_name = ? and table_name = ? and data_type = 'VARCHAR'",
                    [schema, table],
                ).fetchall()
            ]
            if not columns:
                continue
            condition = " or ".join(f'lower("{c}") in (select value from erased_values)' for c in columns)
            name = f'"{schema}"."{table}"'
            row = con.execute(f"select count(*) from {name} where {condition}").fetchone()  # noqa: S608
            if row and row[0]:
                found[f"{schema}.{table}"] = int(row[0])
                if apply:
                    con.execute(f"delete from {name} where {condition}")  # noqa: S608
    finally:
        con.close()
    return found


def rebuild(settings: Settings, interval_start: str) -> float:
    """``dbt build`` for the interval, as the DAG's dbt_build runs it (``pipeline.duckdb_build``);
    returns its seconds."""
    from intent_pipeline import pipeline
    from intent_pipeline.pipeline import interval_dates

    start, end = interval_dates(datetime.fromisoformat(interval_start).date())
    started = time.monotonic()
    # the DAG's build, so that both keep the parse in state_dir/dbt/target; like the DAG's, it leaves
    # out the seeds unchanged since the last build (seed_state): a seed file the erasure rewrote has
    # changed, so it is loaded again without the person's rows
    completed = pipeline.duckdb_build(settings, (start, end))
    if completed.returncode != 0:
        raise ErasureError(f"the rebuild after the erasure failed (dbt build):\n{completed.stdout[-3000:]}")
    return round(time.monotonic() - started, 1)


def compact(warehouse: Path) -> None:
    """Copy the warehouse into a fresh file and swap it in: DuckDB leaves deleted values in free blocks."""
    import duckdb

    fresh = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex[:8]}.compact")
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as old (read_only)")
        con.execute(f"attach '{fresh}' as fresh")
        con.execute("copy from database old to fresh")
        con.execute("detach old")
        con.execute("detach fresh")
    finally:
        con.close()
    os.replace(fresh, warehouse)


def last_interval(settings: Settings) -> str | None:
    """The interval the warehouse was last built for: the serving copy's, else the newest raw partition."""
    from intent_pipeline.serving import published, serving_dir

    manifest = published(serving_dir(settings)) or {}
    if manifest.get("interval_start"):
        return str(manifest["interval_start"])
    days = sorted(p.name.removeprefix("dt=") for p in Path(settings.lake_dir).glob("raw/*/dt=*"))
    return days[-1] if days else None


def republish(settings: Settings, interval_start: str, request_id: str) -> dict:
    """Publish the rebuilt warehouse to the serving copy and remove every older Parquet version."""
    import shutil

    from intent_pipeline.serving import CURRENT, PARQUET_DIR, publish, serving_dir

    target = serving_dir(settings)
    manifest = publish(settings.warehouse, target, run_id=f"erasure__{request_id}", interval_start=interval_start)
    versions = target / PARQUET_DIR
    current = (versions / CURRENT).resolve()
    for path in versions.iterdir() if versions.exists() else []:
        if path.name != CURRENT and path.resolve() != current:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    for leftover in target.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    return manifest


# --- the whole erasure ----------------------------------------------------------------------------


def log_folders(settings: Settings) -> list[Path]:
    folders = [settings.reports_dir, settings.warehouse.parent / "logs", settings.state_dir / "dbt" / "logs"]
    airflow_home = os.environ.get("AIRFLOW_HOME")
    if airflow_home:
        folders.append(Path(airflow_home) / "logs")
    return folders


def pending_path(settings: Settings) -> Path:
    return settings.state_dir / "privacy" / "pending_deletes.json"


def _read_pending(settings: Settings) -> list[dict]:
    path = pending_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _write_pending(settings: Settings, pending: list[dict]) -> None:
    path = pending_path(settings)
    if not pending:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text(path, json.dumps(pending, indent=2, ensure_ascii=False))


def send_deletes(holdings: list[tuple[str, str, str]], configs: Sequence[Any], *, sleep=time.sleep) -> list[dict]:
    """One delete per (CRM destination, record) the ledger holds; ``ok`` per delete."""
    from intent_pipeline.activation import ledger_name
    from intent_pipeline.privacy import destinations as vendors

    by_ledger = {}
    for config in configs:
        name = _destination_name(config)
        if name:
            by_ledger[ledger_name(name, config)] = (name, config)
    results: list[dict] = []
    webhook_keys: dict[str, list[str]] = {}
    for destination, key, _status in holdings:
        kind = vendors.kind_of(destination)
        if kind == "outbox" or kind in vendors.CHAT:
            continue
        if kind == "crm_webhook":
            webhook_keys.setdefault(destination, []).append(key)
            continue
        found = by_ledger.get(destination)
        if found is None:
            results.append({"destination": destination, "key": key, "ok": False,
                            "reason": f"no connection configured for {destination}"})  # fmt: skip
            continue
        if kind == "hubspot":
            ok, reason = vendors.hubspot_delete(found[1], key, sleep=sleep)
        elif kind == "salesforce":
            ok, reason = vendors.salesforce_delete(found[1], key, sleep=sleep)
        else:
            ok, reason = False, f"no delete is built for {kind}"
        results.append({"destination": destination, "key": key, "ok": ok, "reason": reason})
    for destination, keys in webhook_keys.items():
        found = by_ledger.get(destination)
        if found is None:
            ok, reason = False, f"no connection configured for {destination}"
        else:
            ok, reason = vendors.webhook_forget(found[1], keys, sleep=sleep)
        results += [{"destination": destination, "key": key, "ok": ok, "reason": reason} for key in keys]
    return results


def _is_chat(settings: Settings, path: Path) -> bool:
    """An outbox file of a chat robot (``<outbox>/<robot>/dt=…/…``): its text names people."""
    from intent_pipeline.privacy.destinations import CHAT

    try:
        destination = path.relative_to(settings.outbox_dir).parts[0]
    except (ValueError, IndexError):
        return False
    return destination.split("@")[0].split(":")[0] in CHAT


def _destination_name(config: Any) -> str | None:
    module = type(config).__module__
    for name in ("hubspot", "salesforce", "webhook"):
        if name in module:
            return "crm_webhook" if name == "webhook" else name
    return None


def erase(
    settings: Settings,
    requests: Sequence[ErasureRequest],
    *,
    dry_run: bool = False,
    rebuild_marts: bool = True,
    destinations: Sequence[Any] = (),
    sleep=time.sleep,
) -> dict:
    """Carry out (or, with ``dry_run``, list) an erasure; returns the report (no identifier in it:
    hashes, masked values and counts)."""
    from intent_pipeline.privacy import audit

    started = time.monotonic()
    if not requests:
        raise ErasureError("nothing to erase: no request")
    request_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    key_salt = mask.salt()
    linked = resolve(settings.warehouse, requests)
    matcher = _matcher(linked, key_salt)
    partitions = scan_lake(settings, linked, matcher)
    # the landing drops: also the values as the raw rows held them (found by scan_lake)
    landing_matcher = suppression.Suppression(
        matcher.hashes | frozenset(h for v in linked.typed_values if (h := mask.hashed_key(v, key_salt=key_salt))),
        key_salt,
    )
    landing_hits = landing.scrub_landing(settings.landing_url, landing_matcher, apply=False)
    values = linked.search_values()
    pattern = search_pattern(values)
    chat_pattern = search_pattern(values | linked.names)
    keys = linked.ledger_keys() | {s.lower() for s in linked.stall_ids}
    holdings = ledger_holdings(settings.ledger_path, keys)
    report: dict[str, Any] = {
        "request_id": request_id,
        "dry_run": dry_run,
        "requests": [
            {"kind": r.kind, "key": mask.hashed_key(r.value, key_salt=key_salt), "reason": r.reason} for r in requests
        ],
        "people": len(linked.person_ids),
        "identifiers": len(linked.identifiers),
        "identifier_kinds": sorted({kind for kind, _ in linked.identifiers}),
        "lake_partitions": [
            {"zone": p["zone"], "table": p["table"], "path": p["path"], "rows": p["rows"]} for p in partitions
        ],
        "ledger": sorted({(d, s) for d, _, s in holdings}),
        "landing_files": [hit.as_dict() for hit in landing_hits],
    }
    report["ledger"] = [{"destination": d, "status": s} for d, s in report["ledger"]]
    report["ledger_rows"] = len(holdings)
    report["destinations_holding"] = sorted(
        {d for d, _, _ in holdings if not d.endswith(":outbox") and d.split("@")[0] not in ("dingtalk", "wecom",
                                                                                         "feishu", "slack")}
    )  # fmt: skip
    outbox_actions = {}
    if pattern is not None and chat_pattern is not None:
        for path in text_files([settings.outbox_dir]):
            action = scrub_outbox_file(path, chat_pattern if _is_chat(settings, path) else pattern, apply=False)
            if action:
                outbox_actions[str(path)] = action
    report["outbox_files"] = outbox_actions
    text_hits = {}
    if pattern is not None:
        for path in text_files(log_folders(settings)):
            hits = scrub_text(path, pattern, apply=False)
            if hits:
                text_hits[str(path)] = hits
    report["report_and_log_files"] = text_hits
    report["activation_history_rows"] = scrub_history(settings, keys, pattern, apply=False)
    warehouse_values = values | {f"{k}:{v}".lower() for k, v in linked.identifiers}
    report["warehouse_rows"] = warehouse_rows(settings.warehouse, warehouse_values, apply=False)
    # seed rows naming them (an identity decision, a consent record): removed below, and by every
    # later build should one come back (privacy/seeds.py)
    seed_hits = seeds.scrub_seeds(landing_matcher, apply=False)
    report["seed_files"] = [hit.as_dict() for hit in seed_hits]
    report["serving_copy"] = "republished after the rebuild" if rebuild_marts else "republished by the next run"
    if dry_run:
        report["erase_seconds"] = round(time.monotonic() - started, 2)
        return report

    # 1. suppression first: an extract running from now on already drops them
    new_hashes = suppression.hashes_of([*linked.identifiers, *(("person_id", v) for v in linked.person_ids)], key_salt)
    # the values as the rows held them: their normalised forms are among the identifiers' already
    new_hashes |= {h for v in linked.typed_values if (h := mask.hashed_key(v, key_salt=key_salt))}
    report["suppression_hashes_added"] = suppression.add(suppression.list_path(settings), new_hashes, key_salt)
    # 2. deletes at the destinations, with the keys the ledger still holds
    pending = [p for p in _read_pending(settings)]
    deletes = send_deletes(holdings, destinations, sleep=sleep)
    pending += [{"destination": d["destination"], "key": d["key"], "request_id": request_id}
                for d in deletes if not d["ok"]]  # fmt: skip
    _write_pending(settings, pending)
    report["destination_deletes"] = [
        {"destination": d["destination"], "ok": d["ok"], "reason": d["reason"] and pattern.sub(_marker, d["reason"])
         if pattern else d["reason"]} for d in deletes
    ]  # fmt: skip
    report["destinations_deleted"] = sum(1 for d in deletes if d["ok"])
    report["destination_deletes_pending"] = sum(1 for d in deletes if not d["ok"])
    # 3. the lake
    report["lake_rows_removed"] = sum(rewrite_partition(settings, p, matcher) for p in partitions)
    # the landing files the scan found (a file dropped since is suppressed at its extract)
    rewritten = landing.scrub_landing(
        settings.landing_url, landing_matcher, apply=True, only={hit.path for hit in landing_hits}
    )
    report["landing_records_removed"] = sum(hit.records for hit in rewritten if not hit.error)
    report["landing_errors"] = [hit.as_dict() for hit in rewritten if hit.error]
    seeds_rewritten = seeds.scrub_seeds(landing_matcher, apply=True) if seed_hits else []
    report["seed_records_removed"] = sum(hit.records for hit in seeds_rewritten if not hit.error)
    report["seed_errors"] = [hit.as_dict() for hit in seeds_rewritten if hit.error]
    # 4. ledger, history, outbox, reports and logs
    report["ledger_scrubbed"] = scrub_ledger(settings.ledger_path, keys, pattern)
    scrub_history(settings, keys, pattern, apply=True)
    for path_text in outbox_actions:
        path = Path(path_text)
        scrub_outbox_file(path, chat_pattern if _is_chat(settings, path) else pattern, apply=True)  # type: ignore[arg-type]
    for path_text in text_hits:
        scrub_text(Path(path_text), pattern, apply=True)  # type: ignore[arg-type]
    # 5. the warehouse: the person's rows out of every table, then rebuilt and published again
    warehouse_rows(settings.warehouse, warehouse_values, apply=True)
    for snapshot in (settings.state_dir / "snapshots").glob("*.duckdb"):
        snapshot.unlink()
    interval = last_interval(settings)
    seeds_block = bool(report["seed_errors"]) and rebuild_marts
    if seeds_block:
        # a build would load the seed that still names them; every later build refuses it too
        report["rebuild_error"] = "not rebuilt: seed files that name them could not be rewritten (seed_errors)"
    if rebuild_marts and not seeds_block and interval and settings.warehouse.exists():
        try:
            report["rebuild_seconds"] = rebuild(settings, interval)
        except ErasureError as error:
            # everything else is done; the next run's dbt_build rebuilds and publishes (the person's
            # rows are already out of every table, the snapshots are gone)
            report["rebuild_error"] = str(error)[-2000:]
        else:
            compact(settings.warehouse)
            report["serving_version"] = republish(settings, interval, request_id)["version"]
    elif settings.warehouse.exists():
        compact(settings.warehouse)
    report["erase_seconds"] = round(time.monotonic() - started, 2)
    audit.record(
        "erasure",
        lake_dir=settings.lake_dir,
        record_count=len(linked.person_ids),
        request_id=request_id,
        reasons=sorted({r.reason for r in requests}),
        subject_keys=[r["key"] for r in report["requests"]],
        identifiers=len(linked.identifiers),
        lake_rows_removed=report["lake_rows_removed"],
        landing_records_removed=report["landing_records_removed"],
        seed_records_removed=report["seed_records_removed"],
        destinations_deleted=report["destinations_deleted"],
        destination_deletes_pending=report["destination_deletes_pending"],
        rebuilt="rebuild_seconds" in report,
        rebuild_error="rebuild_error" in report,
    )
    return report


def retry_pending(settings: Settings, destinations: Sequence[Any], *, sleep=time.sleep) -> dict:
    """Send again the deletes a destination did not acknowledge; keep those that fail again."""
    from intent_pipeline.privacy import audit

    pending = _read_pending(settings)
    results = send_deletes([(p["destination"], p["key"], "pending") for p in pending], destinations, sleep=sleep)
    acknowledged = {(r["destination"], r["key"]) for r in results if r["ok"]}
    still = [p for p in pending if (p["destination"], p["key"]) not in acknowledged]
    _write_pending(settings, still)
    done = len(pending) - len(still)
    audit.record("erasure_deletes_retried", lake_dir=settings.lake_dir, record_count=done, pending=len(still))
    return {"retried": len(pending), "deleted": done, "pending": len(still)}
