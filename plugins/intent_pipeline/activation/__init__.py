"""Activation (reverse ETL): push the high-intent segment to the CRMs and alert chat.

``activate()`` reads ``marts.segment_high_intent`` (and ``marts.segment_crm_updates``, the
people who left it, for CRMs that hold them) once (read-only), then for each destination:
plans every row against the ledger (invalid, unchanged, to send), sends the rest over HTTP —
or, without a connection, writes the exact request bodies to the outbox — and records every
outcome in the ledger.

Cheap to import: the HTTP client, Jinja2 and DuckDB are imported when used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intent_pipeline.activation.config import ActivationConfigError, DestinationRefused
from intent_pipeline.activation.dingtalk import DingTalkConfig
from intent_pipeline.activation.hubspot import HubSpotConfig
from intent_pipeline.activation.segments import History
from intent_pipeline.settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import Future

    from intent_pipeline.activation.http import Outcome
    from intent_pipeline.activation.outbox import Outbox
    from intent_pipeline.activation.segments import Planned

__all__ = [
    "ActivationConfigError",
    "ActivationGuardError",
    "Safety",
    "DestinationRefused",
    "DingTalkConfig",
    "HubSpotConfig",
    "activate",
    "ledger_name",
    "run_destination",
]

log = logging.getLogger(__name__)

OUTBOX_SUFFIX = ":outbox"


class ActivationGuardError(RuntimeError):
    """A run would change more of the CRM at once than the safety guard allows (a broken upstream?)."""


@dataclass(frozen=True)
class Safety:
    """How activation protects the destinations.

    ``dead_letter_after``: a row rejected this many times in a row with the same payload is
    dead-lettered and not sent again until its payload changes. ``max_change_share``: a CRM run
    that would update more than this share of the records the CRM already acknowledged stops
    before sending (only once the CRM holds at least ``guard_min_rows`` of them); None turns the
    guard off. ``dry_run``: plan only — nothing is sent, nothing is written to the ledger.
    """

    dead_letter_after: int = 5
    max_change_share: float | None = 0.5
    guard_min_rows: int = 100
    dry_run: bool = False

    @classmethod
    def from_env(cls, env=None) -> Safety:
        """``INTENT_ACTIVATION_DEAD_LETTER_AFTER``, ``…_MAX_CHANGE_SHARE`` (``none`` = off),
        ``…_GUARD_MIN_ROWS``, ``INTENT_ACTIVATION_DRY_RUN`` (on/off), through :class:`Settings`."""
        settings = Settings.from_env(env)
        return cls(
            dead_letter_after=settings.activation_dead_letter_after,
            max_change_share=settings.activation_max_change_share,
            guard_min_rows=settings.activation_guard_min_rows,
            dry_run=settings.activation_dry_run,
        )


def ledger_name(name: str, config) -> str:
    """The ledger's name for a destination: ``<name>@<account>`` when sending (acknowledgements
    belong to the account that gave them), ``<name>:outbox`` without a connection."""
    return name + OUTBOX_SUFFIX if config is None else f"{name}@{config.ledger_scope}"


def _counts(mode: str) -> dict:
    return {"mode": mode, "planned": 0, "unchanged": 0, "sent_ok": 0, "rejected": 0, "invalid": 0,
            "deferred": 0, "dead_lettered": 0, "dead_lettered_now": 0, "stale": 0, "requests": 0,
            "outbox_files": [], "withheld_no_consent": 0}  # fmt: skip


def _plan(destination, rows: list[dict], entries: dict, history: History):
    """The destination's plan for these rows against its ledger entries (the same in a dry run).

    Consent: of the destination's candidates, only those whose person consented to its purpose are
    planned (``privacy.consent``, fail closed); the others are counted in ``withheld_no_consent``."""
    from intent_pipeline.activation.segments import plan_rows
    from intent_pipeline.privacy.consent import consented, purpose_of

    candidates, withheld = consented(destination.candidates(rows, entries, history), purpose_of(destination))
    plan = plan_rows(
        candidates,
        destination.key_of,
        destination.validate,
        destination.map_fields,
        entries,
        destination.is_unchanged,
    )
    plan.withheld_no_consent = withheld
    return plan


def _hold_back_stale(plan, entries: dict, newest: str | None, interval_start: date) -> list[tuple[Planned, str]]:
    """Take out of ``plan.to_send`` what a run of an older interval than the destination holds would send
    (time moves forward at a destination: never an older value over a newer one, never a chat alert
    from an older interval than one already announced); returns ``(item, reason)`` of each."""
    day = interval_start.isoformat()
    if newest is None or newest <= day:
        return []
    stale = []
    for item in plan.to_send:
        entry = entries.get(item.key)
        held = entry.acknowledged_interval if entry is not None else None
        if held is not None and held > day:
            reason = (
                f"the destination holds this record's value of interval {held}, newer than this run's {day}: "
                "an older interval's value is never sent"
            )
        else:
            reason = (
                f"the destination already holds interval {newest}, newer than this run's {day}: an older "
                f"interval's value is never sent (a run of {newest} or later sends the current one)"
            )
        stale.append((item, reason))
    plan.to_send = []
    return stale


def _history(ledger, ledger_key: str, run_id: str, interval_start: date) -> History:
    """What the ledger knows of the destination's past besides its entries (``segments.History``):
    a run (other than this one) or an acknowledgement, the leads it saw hot, and whether that memory
    started in an earlier run."""
    ran_before = ledger.newest_interval(ledger_key, run_id) is not None
    if not ran_before:
        (runs,) = ledger.db.execute(
            "select count(*) from activation_runs where destination = ? and run_id is not ?", (ledger_key, run_id)
        ).fetchone()
        ran_before = bool(runs)
    since = ledger.seen_since(ledger_key)
    return History(
        interval_start.isoformat(),
        ran_before,
        frozenset(ledger.seen(ledger_key)),
        remembers=since is not None and since != run_id,
    )


def _remember(
    destination, ledger, ledger_key: str, run_id: str, rows: list[dict], stale, newest: str | None, history: History
) -> None:
    """What a chat destination notes without sending (``AlertOnce.remember``): its alerts held back as
    ``stale`` (due on its next run of a newer interval: a first crossing is announced late rather than
    never) and, in a run not older than what it holds, the leads it saw hot and did not announce."""
    remember = getattr(destination, "remember", None)
    if remember is None:
        return
    ledger.hold_back(ledger_key, run_id, [item.key for item, _ in stale])
    if newest is None or newest <= history.interval:
        ledger.see(ledger_key, run_id, remember(rows, ledger.entries(ledger_key), history))


def _guard(destination, plan, entries: dict, safety: Safety) -> str | None:
    """Why the run must not change the CRM (too many updates of acknowledged records at once), or None."""
    if not getattr(destination, "guards_changes", False) or safety.max_change_share is None:
        return None
    acknowledged = sum(1 for entry in entries.values() if entry.acknowledged)
    updates = sum(1 for item in plan.to_send if (entry := entries.get(item.key)) is not None and entry.acknowledged)
    if acknowledged >= safety.guard_min_rows and updates > safety.max_change_share * acknowledged:
        return (
            f"{destination.name}: this run would update {updates} of the {acknowledged} records the CRM holds "
            f"({updates / acknowledged:.0%} > INTENT_ACTIVATION_MAX_CHANGE_SHARE {safety.max_change_share:.0%}); "
            "stopped before sending. Check the marts (a broken upstream?); if the change is intended, run "
            "once with a higher share."
        )
    return None


def _decisions(plan, entries: dict) -> list[dict]:
    """The dry run's plan, row by row: create / update / unchanged / invalid / dead_letter, and why."""
    out = []
    for item in plan.to_send:
        entry = entries.get(item.key)
        if entry is None or entry.payload_hash is None:
            out.append({"key": item.key, "action": "create", "reason": "never acknowledged by the destination"})
        elif not entry.acknowledged:
            out.append({"key": item.key, "action": "update", "reason": f"retry after {entry.status}"})
        else:
            out.append({"key": item.key, "action": "update", "reason": "mapped fields changed"})
    out += [{"key": it.key, "action": "unchanged", "reason": "same payload acknowledged"} for it in plan.unchanged]
    out += [{"key": key, "action": "invalid", "reason": reason} for key, reason in plan.invalid]
    out += [{"key": it.key, "action": "dead_letter", "reason": reason} for it, reason in plan.dead_lettered]
    return out


def run_destination(
    destination,
    rows: list[dict],
    ledger,
    run_id: str,
    interval_start: date,
    outbox_dir,
    safety: Safety | None = None,
    lake_dir: Path | None = None,
) -> dict:
    """Plan, send (or write to the outbox) and record one destination; returns its report.

    ``destination`` is any destination (HubSpot, DingTalk, WeCom, Feishu, Slack, Salesforce, the
    CRM webhook); its ``config`` being None selects outbox mode (only HubSpot and DingTalk are ever
    built without one), recorded in the ledger under ``<name>:outbox`` so that a real connection
    configured later still sends everything; a connection is recorded under ``<name>@<account>``
    (see ``ledger_name``), so pointing it at another account or robot sends everything there too.
    A destination with ``guards_changes`` (the CRMs) is stopped by the safety guard before sending.
    The report's accounting always holds:
    planned = sent_ok + rejected + deferred + unchanged + invalid + dead_lettered + stale.
    Time moves forward at a destination: a run of an older interval than the destination already
    holds (``Ledger.newest_interval``) sends nothing that would change it; each such row is ``stale``
    in the report and in the row log with the reason (the warehouse's history is rebuilt all the same).
    With ``safety.dry_run`` nothing is sent or written to the ledger; the report (mode
    ``dry_run``) has the same planned / unchanged / invalid / dead_lettered counts a real run
    would have, ``would_send`` = what the real run's sent_ok + rejected + deferred add up to,
    split into ``would_create`` / ``would_update``, and ``decisions`` row by row.

    Consent: the destination declares its ``purpose`` (``crm_sync`` for the CRMs, ``chat_alert``
    for chat); only rows whose person consented to it are planned at all (``privacy.consent``,
    fail closed), the others are counted in ``withheld_no_consent`` and never reach the ledger,
    the outbox or the destination. With ``lake_dir`` (``activate`` always gives it) every run but
    a dry run appends a ``push`` record to the audit trail (``privacy.audit``): destination,
    purpose, the records it acknowledged, the run, also when the run failed.
    """
    safety = safety or Safety()
    from intent_pipeline.activation.http import _redact_error
    from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED, REJECTED, STALE, row_log_failures
    from intent_pipeline.activation.outbox import Outbox
    from intent_pipeline.privacy.consent import purpose_of

    purpose = purpose_of(destination)  # a destination without a purpose is refused before anything else
    outbox_mode = destination.config is None
    ledger_key = ledger_name(destination.name, destination.config)
    history = _history(ledger, ledger_key, run_id, interval_start)
    if safety.dry_run:
        return _dry_run(
            destination,
            rows,
            ledger.entries(ledger_key),
            safety,
            ledger.newest_interval(ledger_key, run_id),
            history,
        )
    counts = _counts("outbox" if outbox_mode else "http")
    failed: BaseException | None = None
    ledger.start_run(run_id, ledger_key, interval_start)
    try:
        settle_in_flight(ledger, ledger_key, run_id, interval_start)
        entries = ledger.entries(ledger_key)
        plan = _plan(destination, rows, entries, history)
        newest = ledger.newest_interval(ledger_key, run_id)
        stale = _hold_back_stale(plan, entries, newest, interval_start)
        stop = _guard(destination, plan, entries, safety)
        if stop:
            raise ActivationGuardError(stop)
        counts["planned"] = plan.planned
        counts["withheld_no_consent"] = plan.withheld_no_consent
        counts["unchanged"] = len(plan.unchanged)
        counts["invalid"] = len(plan.invalid)
        counts["dead_lettered"] = len(plan.dead_lettered)
        counts["stale"] = len(stale)
        ledger.log_rows(run_id, ledger_key, [(key, "invalid", reason) for key, reason in plan.invalid])
        ledger.log_rows(run_id, ledger_key, [(it.key, STALE, reason) for it, reason in stale])
        ledger.log_rows(run_id, ledger_key, [(it.key, "dead_letter", reason) for it, reason in plan.dead_lettered])
        outbox = Outbox(outbox_dir, destination.name, interval_start) if outbox_mode else None

        def begin(items: list[Planned], target: str) -> None:
            ledger.begin(ledger_key, run_id, [(it.key, it.hash) for it in items], target)

        if not outbox_mode and getattr(destination, "at_most_once", False):
            destination.before_send = lambda items: begin(items, "http")
        for items, outcomes in _answers(destination, destination.bodies(plan.to_send), outbox, begin):
            hashes = {it.key: it.hash for it in items}
            # Committed batch by batch: a failure later in the run keeps what was already answered.
            # of this batch's rejections, those the ledger made dead letters (dead_letter_after reached)
            dead_now = ledger.record(
                ledger_key,
                run_id,
                [(key, hashes[key], status, reason) for key, status, reason in outcomes],
                dead_letter_after=None if outbox_mode else safety.dead_letter_after,
                interval_start=interval_start,
            )
            counts["dead_lettered_now"] += len(dead_now)
            ledger.log_rows(run_id, ledger_key, row_log_failures(outcomes, dead_now))
            for _, status, _ in outcomes:
                field = {ACKNOWLEDGED: "sent_ok", REJECTED: "rejected", DEFERRED: "deferred"}[status]
                counts[field] += 1
        counts["outbox_files"] = outbox.written if outbox is not None else []
        _remember(destination, ledger, ledger_key, run_id, rows, stale, newest, history)
    except BaseException as error:
        failed = error
        # One redaction for every destination: whatever a destination raises leaves without its secrets
        # (and without the chained errors, which may print the same URL), whoever raised it.
        redacted = _redact_error(error, getattr(destination, "redact", str))
        counts["error"] = f"{type(error).__name__}: {error}"
        if isinstance(error, DestinationRefused):  # the robot refused the request: nothing of it was posted
            ledger.forget_in_flight(ledger_key)
        if redacted:
            raise error from None
        raise
    finally:
        counts["requests"] = destination.requests
        ledger.finish_run(run_id, ledger_key, counts)
        destination.close()
        if lake_dir is not None:
            _audit_push(lake_dir, destination.name, ledger_key, purpose, run_id, interval_start, counts, failed)
    total = sum(
        counts[k] for k in ("sent_ok", "rejected", "deferred", "unchanged", "invalid", "dead_lettered", "stale")
    )
    if total != counts["planned"]:  # a bug here would silently lose rows: refuse to report success
        raise RuntimeError(f"{destination.name}: accounting does not add up: {counts}")
    log.info("%s [%s]: %s", destination.name, counts["mode"], {k: v for k, v in counts.items() if k != "outbox_files"})
    return counts


def _audit_push(
    lake_dir: Path,
    name: str,
    ledger_key: str,
    purpose: str,
    run_id: str,
    interval_start: date,
    counts: dict,
    failed: BaseException | None,
) -> None:
    """One ``push`` record in the audit trail for a destination run (counts only, no personal data).
    A failing audit write fails the run, unless the run is already failing: then it is logged, and
    the run's own error is the one raised."""
    from intent_pipeline.privacy import audit

    try:
        audit.record(
            "push",
            lake_dir=lake_dir,
            destination=name,
            purpose=purpose,
            record_count=int(counts.get("sent_ok", 0)),
            run_id=run_id,
            account=ledger_key,
            interval_start=interval_start.isoformat(),
            mode=counts.get("mode"),
            planned=counts.get("planned", 0),
            rejected=counts.get("rejected", 0),
            deferred=counts.get("deferred", 0),
            withheld_no_consent=counts.get("withheld_no_consent", 0),
            failed=type(failed).__name__ if failed is not None else None,
        )
    except Exception:
        if failed is None:
            raise
        log.exception("%s: the audit record of this failed run could not be written", name)


def settle_in_flight(ledger, ledger_key: str, run_id: str, interval_start: date | None = None) -> dict[str, int]:
    """Settle what a dead process left under way (``activation_in_flight``) before planning.

    An outbox file noted and found was written whole (files are renamed into place): its rows are
    recorded as written, so the re-run does not write them again; noted but not found, nothing was
    written and the rows are planned as usual. A chat request noted (``target`` ``http``) may have
    been posted: its alerts are recorded ``in_doubt`` and not posted again (a robot has no
    idempotency key; a duplicate alert is what the ledger exists to prevent), each in the row log
    with the reason. Returns ``{"written": n, "in_doubt": n, "not_written": n}``.
    """
    from intent_pipeline.activation.ledger import ACKNOWLEDGED, IN_DOUBT

    settled = {"written": 0, "in_doubt": 0, "not_written": 0}
    left = ledger.in_flight(ledger_key)
    if not left:
        return settled
    written: dict[str, list[tuple[str, str | None]]] = {}  # by the dead run that wrote them
    missing: list[tuple[str, str | None]] = []
    doubtful: list[tuple[str, str | None, str]] = []
    for key, payload_hash, dead_run, target in left:
        if target.startswith("outbox:"):
            if Path(target.removeprefix("outbox:")).is_file():
                written.setdefault(dead_run, []).append((key, payload_hash))
            else:
                missing.append((key, payload_hash))
        else:
            doubtful.append((key, payload_hash, dead_run))
    for dead_run, records in written.items():
        # a written file holds the dead run's values: they belong to its interval (this run's if unknown)
        held = ledger.run_interval(dead_run, ledger_key)
        ledger.record(
            ledger_key,
            run_id,
            [(key, payload_hash, ACKNOWLEDGED, None) for key, payload_hash in records],
            interval_start=date.fromisoformat(held) if held else interval_start,
        )
    ledger.forget_in_flight(ledger_key, [key for key, _ in missing])
    reasons = {
        key: f"the process of run {dead_run} died while this alert was being posted: the robot may have posted "
        "it, so it is not posted again (a chat alert is sent at most once)"
        for key, _, dead_run in doubtful
    }
    ledger.record(
        ledger_key, run_id, [(key, payload_hash, IN_DOUBT, reasons[key]) for key, payload_hash, _ in doubtful]
    )
    ledger.log_rows(run_id, ledger_key, [(key, IN_DOUBT, reason) for key, reason in reasons.items()])
    settled.update(written=sum(map(len, written.values())), in_doubt=len(doubtful), not_written=len(missing))
    log.warning("%s: settled what a killed run left under way: %s", ledger_key, settled)
    return settled


def _answers(
    destination: Any,
    bodies: Iterable[tuple[dict, list[Planned]]],
    outbox: Outbox | None,
    begin: Callable[[list[Planned], str], None] | None = None,
) -> Iterator[tuple[list[Planned], list[Outcome]]]:
    """``(items, outcomes)`` of each batch, in the order of ``bodies``: written to the outbox, or
    sent with up to ``destination.concurrency`` batches in flight (1 unless the destination says
    otherwise). Each answer is yielded, and so recorded, as soon as it and every earlier one are in:
    a crash loses at most the answers in flight, which the re-run sends again (upserts are idempotent).
    Once the destination says its API allocation is used up (``exhausted``, the reason), every later
    batch is deferred without a call: it would fail too, and burn time."""
    from collections import deque

    from intent_pipeline.activation.ledger import ACKNOWLEDGED, DEFERRED

    def send(body: dict, items: list[Planned]) -> list[Outcome]:
        reason = getattr(destination, "exhausted", None)
        if reason is not None:
            return [(it.key, DEFERRED, reason) for it in items]
        return destination.send(body, items)

    if outbox is not None:
        for body, items in bodies:
            path = outbox.next_path()
            if begin is not None:  # noted before the file exists: a kill after the write never writes it twice
                begin(items, f"outbox:{path}")
            outbox.write(body, path)
            yield items, [(it.key, ACKNOWLEDGED, None) for it in items]
        return
    workers = getattr(destination, "concurrency", 1)
    if workers <= 1:
        for body, items in bodies:
            yield items, send(body, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{destination.name}-send") as pool:
        in_flight: deque[tuple[list[Planned], Future[list[Outcome]]]] = deque()
        try:
            for body, items in bodies:
                in_flight.append((items, pool.submit(send, body, items)))
                if len(in_flight) >= workers:
                    items, future = in_flight.popleft()
                    yield items, future.result()
            while in_flight:
                items, future = in_flight.popleft()
                yield items, future.result()
        finally:
            for _, future in in_flight:  # an error stops the run: send nothing more
                future.cancel()


def _dry_run(
    destination, rows: list[dict], entries: dict, safety: Safety, newest: str | None, history: History
) -> dict:
    try:
        plan = _plan(destination, rows, entries, history)
    finally:
        destination.close()
    stale = _hold_back_stale(plan, entries, newest, date.fromisoformat(history.interval))
    decisions = _decisions(plan, entries) + [{"key": it.key, "action": "stale", "reason": why} for it, why in stale]
    actions = [d["action"] for d in decisions]
    counts = {
        "mode": "dry_run",
        "planned": plan.planned,
        "unchanged": len(plan.unchanged),
        "invalid": len(plan.invalid),
        "dead_lettered": len(plan.dead_lettered),
        "stale": len(stale),
        "withheld_no_consent": plan.withheld_no_consent,
        "would_send": len(plan.to_send),
        "would_create": actions.count("create"),
        "would_update": actions.count("update"),
        "requests": 0,
        "guard": _guard(destination, plan, entries, safety),
        "decisions": decisions,
    }
    log.info("%s [dry run]: %s", destination.name, {k: v for k, v in counts.items() if k != "decisions"})
    return counts


def activate(
    settings,
    interval_start: date,
    interval_end: datetime,
    run_id: str,
    hubspot: HubSpotConfig | None,
    dingtalk: DingTalkConfig | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    safety: Safety | None = None,
    more: tuple = (),
) -> dict:
    """Push ``marts.segment_high_intent`` to HubSpot and alert DingTalk about newly hot leads and
    stalls; then the same for each ``(destination class, config)`` of ``more`` (WeCom, Feishu, Slack,
    Salesforce, the CRM webhook: ``pipeline.MORE_DESTINATIONS``, only those with a connection).

    HubSpot or DingTalk with a config of None writes its outbox instead
    (``<settings.outbox_dir>/<destination>/dt=<interval_start>/batch-NNNN.json``).
    ``sleep`` and ``clock`` drive retries and rate limiting (injectable for tests).

    Returns ``{"hubspot": {...}, "dingtalk": {...}, ...}``, one report per destination that ran
    (``run_destination``): ``mode`` (``http``/``outbox``, or ``dry_run``), ``planned, unchanged,
    sent_ok, rejected, invalid, deferred, dead_lettered, requests`` (HTTP requests made, retries
    included; 0 in outbox mode) and ``outbox_files``. Rejected, deferred, invalid and dead-lettered
    rows are in the ledger's ``activation_row_log`` with their reason.

    Afterwards (also after a failure) the interval's runs, row log and the dead letters are written
    as Parquet under ``<lake>/activation`` for dbt (``activation.history``); not in a dry run.

    Raises ``DestinationRefused`` (``HubSpotAuthError``, ``DingTalkConfigError``, ...) when a
    destination refuses the credentials or URL — after the other destinations have run,
    so one broken connection does not hold back the others; batches answered before the
    refusal stay recorded.
    """
    from intent_pipeline.activation.segments import is_stall, read_segment

    if isinstance(interval_start, datetime):
        interval_start = interval_start.date()
    rows = read_segment(settings.warehouse, interval_end, engine=getattr(settings, "engine", "duckdb"),
                        pg_snapshot=getattr(settings, "pg_snapshot", ""))  # fmt: skip
    stalls = sum(1 for row in rows if is_stall(row))
    log.info(
        "segment_high_intent: %d rows; segment_crm_updates: %d rows; segment_funnel_stalls: %d rows",
        sum(1 for row in rows if row["in_segment"]),
        sum(1 for row in rows if not row["in_segment"]) - stalls,
        stalls,
    )
    report: dict[str, dict] = {}
    refused: list[DestinationRefused] = []
    try:
        _run_all(settings, rows, run_id, interval_start, hubspot, dingtalk, sleep, clock, safety, more, report, refused)
    except BaseException:
        # what was sent before the failure is history too: export it, and let the failure be the error
        if not (safety and safety.dry_run):
            try:
                _export_history(settings, interval_start)
            except Exception:
                log.exception("activation history: the export after a failed run failed too")
        raise
    if not (safety and safety.dry_run):
        _export_history(settings, interval_start)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        raise DestinationRefused("\n".join(str(error) for error in refused))
    return report


def _export_history(settings, interval_start: date) -> None:
    """The interval's runs and row log, and the dead letters, as Parquet where dbt reads them
    (``activation.history``; the next dbt build's marts ``activation_runs`` and ``activation_rejects``)."""
    from intent_pipeline.activation.history import export_history

    written = export_history(settings.ledger_path, settings.lake_dir, [interval_start])
    log.info("activation history written to the lake: %s", written)


def _run_all(
    settings, rows, run_id, interval_start, hubspot, dingtalk, sleep, clock, safety, more, report, refused
) -> None:
    from intent_pipeline.activation.dingtalk import DingTalkDestination
    from intent_pipeline.activation.hubspot import HubSpotDestination
    from intent_pipeline.activation.ledger import Ledger

    with Ledger(settings.ledger_path) as ledger:
        destinations = (
            HubSpotDestination(hubspot, sleep=sleep, clock=clock),
            DingTalkDestination(dingtalk, sleep=sleep, clock=clock),
            # further destinations run only when their connection is configured (no outbox)
            *(cls(config, sleep=sleep, clock=clock) for cls, config in more),
        )
        for destination in destinations:
            try:
                report[destination.name] = run_destination(
                    destination, rows, ledger, run_id, interval_start, settings.outbox_dir, safety, settings.lake_dir
                )
            except DestinationRefused as error:
                log.error("%s: %s", destination.name, error)
                refused.append(error)
        # identity merges reach HubSpot: contacts pushed under merged-away ids merged into the survivor's
        if hubspot is not None and "hubspot" in report and not (safety and safety.dry_run):
            from intent_pipeline.activation.crm_merges import reconcile_hubspot

            try:
                merges = reconcile_hubspot(hubspot, rows, ledger, run_id, interval_start)
                if merges["pairs"]:
                    report["hubspot"]["merges"] = merges
            except DestinationRefused as error:
                log.error("hubspot merges: %s", error)
                refused.append(error)
        # and Salesforce: records pushed under merged-away ids merged with SOAP merge()
        salesforce = next((config for cls, config in more if getattr(cls, "name", None) == "salesforce"), None)
        if salesforce is not None and "salesforce" in report and not (safety and safety.dry_run):
            from intent_pipeline.activation.crm_merges import reconcile_salesforce

            try:
                merges = reconcile_salesforce(salesforce, rows, ledger, run_id, interval_start, sleep=sleep)
                if merges["pairs"]:
                    report["salesforce"]["merges"] = merges
            except DestinationRefused as error:
                log.error("salesforce merges: %s", error)
                refused.append(error)
