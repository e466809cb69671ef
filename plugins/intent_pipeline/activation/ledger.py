"""What each destination has acknowledged, in its own SQLite file.

The ledger never lives in the warehouse: dbt is the warehouse's only writer.

Tables:

* ``activation_ledger`` — one row per (destination, record_key). ``payload_hash``
  is the hash of the last payload the destination **acknowledged**; ``status``
  is the outcome of the last attempt (``acknowledged``, ``rejected``,
  ``deferred``), so a failed row is retried even when its payload did not change.
* ``activation_runs`` — one row per execution of a run at a destination, (run_id, destination,
  execution), with its counts: a task retry and a cleared run (which keeps its run_id) each add
  an execution (1, 2, …); none replaces an earlier one.
* ``activation_row_log`` — every rejected, deferred, invalid or dead-lettered row of an execution,
  with the reason; a row the destination rejected in this execution whose rejection made it a dead
  letter is logged ``dead_lettered_now`` (the run's report counts it in ``rejected`` and in
  ``dead_lettered_now``), a dead letter not sent at all ``dead_letter``.
* ``activation_in_flight`` — what a run is writing to the outbox or posting to a chat robot right
  now: written (and committed) before the file is written or the request made, removed in the
  transaction that records the outcome. A row still there when a run starts was left by a process
  that died in between (``activation.settle_in_flight``): an outbox file that exists was written
  (recorded, not written twice); a chat alert may have been posted and is not posted again
  (``in_doubt``: a chat alert is sent at most once).
* ``activation_seen`` — the leads a chat destination saw hot in its segment and did not announce (hot
  before its first run, or hot without a crossing it was told of): a later identity merge with one of
  them is no new crossing (``chat.AlertOnce``); ``activation_seen_since`` — the run whose notes started
  that memory, per destination: from the next run on, a lead in the segment the destination does not
  know (it could not be alerted when it crossed: not contactable, no consent) is announced once.
* ``acknowledged_interval`` (in ``activation_ledger``) — the data interval (its start day) whose value the
  destination last acknowledged for the record: time moves forward at a destination, so a run of an
  older interval never sends over it (``newest_interval``; the run logs such rows as ``stale``).
* ``activation_dead_letter`` (a view) — rows a destination rejected ``dead_letter_after`` times
  in a row with the same payload: they are not sent again until their payload changes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intent_pipeline.activation.segments import Planned

ACKNOWLEDGED = "acknowledged"
REJECTED = "rejected"
DEFERRED = "deferred"
DEAD_LETTER = "dead_letter"
# The row-log outcome of a rejection that made its row a dead letter (``Ledger.record``; ``row_log_failures``).
DEAD_LETTERED_NOW = "dead_lettered_now"
# A chat alert whose request was under way when its process died: the robot may have posted it, and it
# has no idempotency key, so it is never posted again (at most once); the row log says so.
IN_DOUBT = "in_doubt"
# A row of a run whose interval is older than what the destination already holds: not sent (row log; a
# chat alert held back so is also noted in the ledger with this status, and due on the next run: late, not never).
STALE = "stale"

SCHEMA = """
create table if not exists activation_ledger (
    destination text not null,
    record_key text not null,
    payload_hash text,
    status text not null,
    attempts integer not null default 0,
    last_error text,
    first_sent_at text,
    acknowledged_at text,
    last_run_id text,
    primary key (destination, record_key)
);
create table if not exists activation_runs (
    run_id text not null,
    destination text not null,
    execution integer not null default 1,
    interval_start text not null,
    started_at text not null,
    finished_at text,
    counts text,
    primary key (run_id, destination, execution)
);
create table if not exists activation_row_log (
    run_id text not null,
    destination text not null,
    record_key text,
    outcome text not null,
    reason text,
    execution integer not null default 1
);
create table if not exists activation_seen (
    destination text not null,
    record_key text not null,
    run_id text not null,
    seen_at text not null,
    primary key (destination, record_key)
);
create table if not exists activation_seen_since (
    destination text primary key,
    run_id text not null,
    since text not null
);
create index if not exists activation_row_log_run on activation_row_log (run_id, destination);
create table if not exists activation_in_flight (
    destination text not null,
    record_key text not null,
    payload_hash text,
    run_id text not null,
    target text not null,
    started_at text not null,
    primary key (destination, record_key)
);
"""
# Columns added after the first release, for ledgers created before them.
MIGRATIONS = {
    "last_attempt_hash": "alter table activation_ledger add column last_attempt_hash text",
    "acknowledged_interval": "alter table activation_ledger add column acknowledged_interval text",
}
# activation_runs keyed on (run_id, destination) before executions were kept: rebuilt with the
# key (run_id, destination, execution), every earlier record as execution 1. The table's DDL is
# written again on purpose: a migration keeps the shape it migrates to even if SCHEMA changes later.
RUNS_REKEY = """
create table activation_runs_keyed (
    run_id text not null,
    destination text not null,
    execution integer not null default 1,
    interval_start text not null,
    started_at text not null,
    finished_at text,
    counts text,
    primary key (run_id, destination, execution)
);
insert into activation_runs_keyed (run_id, destination, execution, interval_start, started_at, finished_at, counts)
    select run_id, destination, 1, interval_start, started_at, finished_at, counts from activation_runs;
drop table activation_runs;
alter table activation_runs_keyed rename to activation_runs;
"""
DEAD_LETTER_VIEW = """
create view if not exists activation_dead_letter as
select destination, record_key, attempts, last_error, last_attempt_hash as payload_hash, last_run_id
from activation_ledger where status = 'dead_letter'
"""


@dataclass(frozen=True)
class LedgerEntry:
    """The ledger's memory of one record at one destination."""

    payload_hash: str | None
    status: str
    attempts: int
    last_error: str | None
    acknowledged_at: str | None
    last_attempt_hash: str | None = None
    acknowledged_interval: str | None = None  # ISO day: the interval whose value was last acknowledged

    @property
    def acknowledged(self) -> bool:
        return self.status == ACKNOWLEDGED

    @property
    def settled(self) -> bool:
        """Never to be sent again with this payload's rule of at most once: acknowledged, or in doubt
        (a chat alert whose process died while it was being posted)."""
        return self.status in (ACKNOWLEDGED, IN_DOUBT)


def deferred(items: Iterable[Planned], reason: str) -> dict[str, tuple[str, str | None]]:
    """Every record of a batch deferred with ``reason`` (tried again next run): the retries gave up,
    or the answer is one the destination cannot read as delivered or rejected."""
    return {it.key: (DEFERRED, reason) for it in items}


def _now() -> str:
    # Audit timestamps only (when did we send); never used to decide what to send.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


class Ledger:
    """The activation ledger in ``path`` (created with its tables if missing). Use as a context manager."""

    def __init__(self, path: Path | str):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30)
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("pragma table_info(activation_ledger)")}
        for column, ddl in MIGRATIONS.items():
            if column not in columns:
                self.db.execute(ddl)
        if "execution" not in {row[1] for row in self.db.execute("pragma table_info(activation_runs)")}:
            self.db.executescript(f"begin; {RUNS_REKEY} commit;")
        if "execution" not in {row[1] for row in self.db.execute("pragma table_info(activation_row_log)")}:
            self.db.execute("alter table activation_row_log add column execution integer not null default 1")
        self.db.executescript(DEAD_LETTER_VIEW)
        self.db.commit()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def entries(self, destination: str) -> dict[str, LedgerEntry]:
        """Every record the destination has seen, by record key."""
        rows = self.db.execute(
            "select record_key, payload_hash, status, attempts, last_error, acknowledged_at, last_attempt_hash,"
            " acknowledged_interval from activation_ledger where destination = ?",
            (destination,),
        )
        return {key: LedgerEntry(*rest) for key, *rest in rows}

    def record(
        self,
        destination: str,
        run_id: str,
        outcomes: Iterable[tuple[str, str, str, str | None]],
        dead_letter_after: int | None = None,
        interval_start: date | None = None,
    ) -> set[str]:
        """Store the outcome of send attempts: ``(record_key, payload_hash, status, error)`` each.

        ``interval_start``: the data interval the values belong to; an acknowledgement records it as
        the record's ``acknowledged_interval`` (a failure keeps the last acknowledged one).

        One transaction per call, so a crash mid-run keeps every batch already answered.
        Only an acknowledged outcome moves ``payload_hash``; a failure keeps the last
        acknowledged hash and sets ``status`` so the row is retried next run. ``attempts``
        counts the attempts with the same payload (a new payload starts again at 1); a
        rejection that brings them to ``dead_letter_after`` makes the row ``dead_letter``.

        Returns the keys of these outcomes' rows that made dead letters (rejected now, not sent again
        until their payload changes), so the run's report and row log can say so.
        """
        now = _now()
        dead: set[str] = set()
        limit = dead_letter_after or 0
        interval = interval_start.isoformat() if interval_start is not None else None
        with self.db:
            for key, payload_hash, status, error in outcomes:
                # the outcome is known: the record of the write or request under way goes with it
                self.db.execute(
                    "delete from activation_in_flight where destination = ? and record_key = ?", (destination, key)
                )
                acked = status == ACKNOWLEDGED
                (stored,) = self.db.execute(
                    """
                    insert into activation_ledger (destination, record_key, payload_hash, status, attempts,
                        last_error, first_sent_at, acknowledged_at, last_run_id, last_attempt_hash,
                        acknowledged_interval)
                    values (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                    on conflict (destination, record_key) do update set
                        payload_hash = case when excluded.status = 'acknowledged'
                            then excluded.payload_hash else activation_ledger.payload_hash end,
                        attempts = case when activation_ledger.last_attempt_hash is excluded.last_attempt_hash
                            then activation_ledger.attempts + 1 else 1 end,
                        status = case
                            when excluded.status in ('rejected', 'dead_letter') and ? > 0
                                and (case when activation_ledger.last_attempt_hash is excluded.last_attempt_hash
                                    then activation_ledger.attempts + 1 else 1 end) >= ?
                                then 'dead_letter'
                            else excluded.status end,
                        last_error = excluded.last_error,
                        first_sent_at = coalesce(activation_ledger.first_sent_at, excluded.first_sent_at),
                        acknowledged_at = coalesce(excluded.acknowledged_at, activation_ledger.acknowledged_at),
                        last_run_id = excluded.last_run_id,
                        last_attempt_hash = excluded.last_attempt_hash,
                        acknowledged_interval = case when excluded.status = 'acknowledged'
                            then coalesce(excluded.acknowledged_interval, activation_ledger.acknowledged_interval)
                            else activation_ledger.acknowledged_interval end
                    returning status
                    """,
                    (
                        destination,
                        key,
                        payload_hash if acked else None,
                        DEAD_LETTER if status == REJECTED and limit == 1 else status,
                        error,
                        now,
                        now if acked else None,
                        run_id,
                        payload_hash,
                        interval if acked else None,
                        limit,
                        limit,
                    ),
                ).fetchone()
                if status == REJECTED and stored == DEAD_LETTER:
                    dead.add(key)
        return dead

    def hold_back(self, destination: str, run_id: str, keys: Iterable[str]) -> None:
        """Note chat alerts held back as ``STALE`` (never sent, due on a later run) where the ledger has no
        row for them; a row it has (a failed alert, already due) is left as it is."""
        with self.db:
            self.db.executemany(
                "insert or ignore into activation_ledger (destination, record_key, status, attempts, last_run_id)"
                " values (?, ?, ?, 0, ?)",
                [(destination, key, STALE, run_id) for key in keys],
            )

    def seen(self, destination: str) -> set[str]:
        """The keys of the leads a chat destination saw hot and did not announce (``activation_seen``)."""
        rows = self.db.execute("select record_key from activation_seen where destination = ?", (destination,))
        return {key for (key,) in rows}

    def seen_since(self, destination: str) -> str | None:
        """The run whose notes started the destination's memory of the leads it saw (``see``), or None."""
        row = self.db.execute("select run_id from activation_seen_since where destination = ?", (destination,))
        found = row.fetchone()
        return found[0] if found else None

    def see(self, destination: str, run_id: str, keys: Iterable[str]) -> None:
        """Note leads a chat destination saw hot and did not announce (kept once, with the first run);
        the first call for a destination starts its memory (``seen_since``), with or without keys."""
        now = _now()
        with self.db:
            self.db.execute(
                "insert or ignore into activation_seen_since (destination, run_id, since) values (?, ?, ?)",
                (destination, run_id, now),
            )
            self.db.executemany(
                "insert or ignore into activation_seen (destination, record_key, run_id, seen_at) values (?, ?, ?, ?)",
                [(destination, key, run_id, now) for key in keys],
            )

    def newest_interval(self, destination: str, run_id: str | None = None) -> str | None:
        """The newest data interval (ISO day) the destination holds: the newest ``acknowledged_interval``
        of its records, or the newest interval of a run that finished without error (a run that had
        nothing to send still stands for its interval: a newly hot lead it did not announce was not
        new any more), not counting ``run_id`` (the run asking). None when it holds nothing yet."""
        (newest,) = self.db.execute(
            """
            select max(interval_start) from (
                select acknowledged_interval as interval_start from activation_ledger where destination = ?
                union all
                select interval_start from activation_runs
                where destination = ? and finished_at is not null and json_extract(counts, '$.error') is null
                    and run_id is not ?
            )
            """,
            (destination, destination, run_id),
        ).fetchone()
        return newest

    def run_interval(self, run_id: str, destination: str) -> str | None:
        """The interval (ISO day) of a run of the destination, None if the ledger has no record of it."""
        row = self.db.execute(
            "select interval_start from activation_runs where run_id = ? and destination = ?"
            " order by execution desc limit 1",
            (run_id, destination),
        ).fetchone()
        return row[0] if row else None

    def execution(self, run_id: str, destination: str) -> int:
        """The run's latest execution at the destination (the one :meth:`start_run` opened last); 1 when none."""
        (latest,) = self.db.execute(
            "select max(execution) from activation_runs where run_id = ? and destination = ?", (run_id, destination)
        ).fetchone()
        return int(latest or 1)

    def begin(self, destination: str, run_id: str, records: Iterable[tuple[str, str]], target: str) -> None:
        """Note ``(record_key, payload_hash)`` records as under way to ``target`` (``outbox:<path>`` or
        ``http``), committed before the file is written or the request made; :meth:`record` removes them."""
        now = _now()
        with self.db:
            self.db.executemany(
                "insert or replace into activation_in_flight"
                " (destination, record_key, payload_hash, run_id, target, started_at) values (?, ?, ?, ?, ?, ?)",
                [(destination, key, payload_hash, run_id, target, now) for key, payload_hash in records],
            )

    def in_flight(self, destination: str) -> list[tuple[str, str | None, str, str]]:
        """``(record_key, payload_hash, run_id, target)`` of what a run began and never recorded."""
        rows = self.db.execute(
            "select record_key, payload_hash, run_id, target from activation_in_flight where destination = ?"
            " order by rowid",
            (destination,),
        )
        return [(key, payload_hash, run_id, target) for key, payload_hash, run_id, target in rows]

    def forget_in_flight(self, destination: str, keys: Iterable[str] | None = None) -> None:
        """Drop in-flight records (all of the destination's, or ``keys``): nothing of them went out."""
        with self.db:
            if keys is None:
                self.db.execute("delete from activation_in_flight where destination = ?", (destination,))
            else:
                self.db.executemany(
                    "delete from activation_in_flight where destination = ? and record_key = ?",
                    [(destination, key) for key in keys],
                )

    def log_rows(self, run_id: str, destination: str, rows: Iterable[tuple[str | None, str, str | None]]) -> None:
        """Append ``(record_key, outcome, reason)`` rows to the row log of the run's latest execution."""
        execution = self.execution(run_id, destination)
        with self.db:
            self.db.executemany(
                "insert into activation_row_log (run_id, destination, record_key, outcome, reason, execution)"
                " values (?, ?, ?, ?, ?, ?)",
                [(run_id, destination, key, outcome, reason, execution) for key, outcome, reason in rows],
            )

    def start_run(self, run_id: str, destination: str, interval_start: date) -> int:
        """Open a new execution of the run at the destination and return its number (1 the first time;
        a task retry or a cleared run, which keeps its run_id, adds the next one; earlier executions
        and their row logs are kept)."""
        with self.db:
            (latest,) = self.db.execute(
                "select max(execution) from activation_runs where run_id = ? and destination = ?", (run_id, destination)
            ).fetchone()
            execution = int(latest or 0) + 1
            self.db.execute(
                "insert into activation_runs (run_id, destination, execution, interval_start, started_at)"
                " values (?, ?, ?, ?, ?)",
                (run_id, destination, execution, interval_start.isoformat(), _now()),
            )
        return execution

    def finish_run(self, run_id: str, destination: str, counts: dict) -> None:
        """Close the run's latest execution with its counts (also called when it failed, with an ``error`` key)."""
        execution = self.execution(run_id, destination)
        with self.db:
            self.db.execute(
                "update activation_runs set finished_at = ?, counts = ?"
                " where run_id = ? and destination = ? and execution = ?",
                (_now(), json.dumps(counts, ensure_ascii=False, default=str), run_id, destination, execution),
            )

    def row_log(self, run_id: str | None = None, destination: str | None = None) -> list[dict]:
        """Row-log entries, optionally for one run and/or destination (for reports and tests)."""
        sql = "select run_id, destination, record_key, outcome, reason from activation_row_log where 1 = 1"
        params: list = []
        if run_id is not None:
            sql += " and run_id = ?"
            params.append(run_id)
        if destination is not None:
            sql += " and destination = ?"
            params.append(destination)
        cols = ("run_id", "destination", "record_key", "outcome", "reason")
        return [dict(zip(cols, row, strict=True)) for row in self.db.execute(sql + " order by rowid", params)]


def row_log_failures(
    outcomes: Iterable[tuple[str, str, str | None]], dead_now: set[str]
) -> list[tuple[str, str, str | None]]:
    """The row-log rows of a batch's answers ``(record_key, status, reason)``: every one not acknowledged,
    a rejection that made a dead letter (``dead_now``, from :meth:`Ledger.record`) as ``dead_lettered_now``."""
    return [
        (key, DEAD_LETTERED_NOW if key in dead_now else status, reason)
        for key, status, reason in outcomes
        if status != ACKNOWLEDGED
    ]
