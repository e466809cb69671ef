"""The short summary of one run: what came in, what came out, where it is."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from intent_pipeline.settings import SOURCES, Settings


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _open(warehouse: Path, engine: str, pg_snapshot: str = ""):
    """A read-only connection to the marts: the DuckDB file (None when it does not exist), or
    ``postgres_load.PgReader`` with ``INTENT_ENGINE=postgres`` (``pg_snapshot``: the run's snapshot)."""
    if engine == "postgres":
        from intent_pipeline.postgres_load import PgReader

        return PgReader(snapshot=pg_snapshot)
    if not warehouse.exists():
        return None
    import duckdb

    return duckdb.connect(str(warehouse), read_only=True)


def _warehouse_figures(warehouse: Path, engine: str = "duckdb", pg_snapshot: str = "") -> dict:
    con = _open(warehouse, engine, pg_snapshot)
    if con is None:
        return {"error": f"no warehouse at {warehouse}"}

    def one_row(sql: str) -> tuple:
        row = con.execute(sql).fetchone()
        if row is None:  # an aggregate without group by always returns one row
            raise RuntimeError(f"no row from {sql}")
        return row

    try:
        (people,) = one_row("select count(*) from marts.people")
        grades = dict(con.execute("select grade, count(*) from marts.lead_scores group by grade order by 1").fetchall())
        segment, newly_hot = one_row(
            "select count(*), count(*) filter (where became_hot_in_interval) from marts.segment_high_intent"
        )
        stalls, newly_stalled = one_row(
            "select count(*), count(*) filter (where became_stalled_in_interval) from marts.segment_funnel_stalls"
        )
    finally:
        con.close()
    return {
        "people": people,
        "leads_by_grade": grades,
        "segment_high_intent": segment,
        "newly_hot": newly_hot,
        "funnel_stalls": stalls,
        "newly_stalled": newly_stalled,
    }


def identity_standardisation(warehouse: Path, engine: str = "duckdb", pg_snapshot: str = "") -> list[dict] | None:
    """What the identity matcher could not standardise (intermediate.int_identity_match_standardisation):
    per comparison with a failed or blocked value, its source column, the values present, failed
    (with the reason they fail) and blocked by the blocklist. None without a warehouse or the model."""
    con = _open(warehouse, engine, pg_snapshot)
    if con is None:
        return None
    try:
        found = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'intermediate' and table_name = 'int_identity_match_standardisation'"
        ).fetchone()
        if not found or not found[0]:
            return None
        rows = con.execute(
            "select comparison, source_column, present_values, failed_values, failure_reason, blocked_values"
            " from intermediate.int_identity_match_standardisation"
            " where failed_values > 0 or blocked_values > 0 order by comparison"
        ).fetchall()
    finally:
        con.close()
    keys = ("comparison", "source_column", "present_values", "failed_values", "failure_reason", "blocked_values")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def format_identity_standardisation(rows: list[dict] | None) -> str:
    """One summary line: per comparison, the values that failed standardisation (and why) and
    those the blocklist removed; "none" when every value standardised."""
    if rows is None:
        return "identity values not standardised: (not built)"
    if not rows:
        return "identity values not standardised: none"
    parts = []
    for row in rows:
        text = f"{row['comparison']} ({row['source_column']}): {row['failed_values']} of {row['present_values']} failed"
        if row["failed_values"]:
            text += f" ({row['failure_reason']})"
        if row["blocked_values"]:
            text += f", {row['blocked_values']} blocked"
        parts.append(text)
    return "identity values not standardised: " + "; ".join(parts)


def build_summary(settings: Settings, interval_start: date) -> dict:
    """Figures of the run for ``interval_start``, read from manifests, reports and the warehouse."""
    ds = interval_start.isoformat()
    sources = {}
    extract_warnings = {}
    for source in SOURCES:
        manifest = _read_json(settings.lake_dir / "manifests" / source / f"dt={ds}.json")
        sources[source] = manifest["tables"] if manifest else None
        if manifest and manifest.get("warnings"):
            extract_warnings[source] = manifest["warnings"]
    quality = {}
    for layer in ("raw", "marts"):
        report = _read_json(settings.reports_dir / "quality" / f"dt={ds}" / f"{layer}.json")
        quality[layer] = None if report is None else report["success"]
    activation = _read_json(settings.reports_dir / "activation" / f"dt={ds}.json")
    from intent_pipeline.scoring_model import history

    versions = history(settings.models_dir)  # newest first
    approved = next((v for v in versions if v["status"] == "approved"), None)
    return {
        "interval_start": ds,
        "sources": sources,
        # renamed, unknown or missing optional columns of the landing files (docs/sources.md)
        "extract_warnings": extract_warnings,
        "quality": quality,
        "warehouse": _warehouse_figures(settings.warehouse, settings.engine, settings.pg_snapshot),
        # values the identity matcher could not standardise or the blocklist removed (docs/identity.md)
        "identity_standardisation": identity_standardisation(settings.warehouse, settings.engine, settings.pg_snapshot),
        "activation": activation["destinations"] if activation else None,
        "conversion_model": {
            "latest": versions[0] if versions else None,
            "scoring_with": approved["version"] if approved else None,
        },
        "paths": {
            "warehouse": str(settings.warehouse),
            "raw_lake": str(settings.lake_dir / "raw"),
            "quarantine": str(settings.lake_dir / "quarantine"),
            "quality_reports": str(settings.reports_dir / "quality" / f"dt={ds}"),
            "outbox": str(settings.outbox_dir),
            "ledger": str(settings.ledger_path),
            "models": str(settings.models_dir),
        },
    }


def saved_summary(settings: Settings, interval_start: date) -> dict | None:
    """The summary the run of ``interval_start`` saved (``reports/runs/dt=<day>.json``), or None."""
    return _read_json(settings.reports_dir / "runs" / f"dt={interval_start.isoformat()}.json")


def skipped_without_data(settings: Settings, interval_start: date) -> str | None:
    """What to say about a day whose run found no landing data in any source (its later tasks were
    skipped, so it saved no summary: ``pipeline.skip_without_landing_data``), or None for any other day."""
    from intent_pipeline.pipeline import no_landing_data
    from intent_pipeline.serving import published, serving_dir

    day = interval_start.isoformat()
    manifests = [_read_json(settings.lake_dir / "manifests" / source / f"dt={day}.json") for source in SOURCES]
    if not no_landing_data(manifests):
        return None
    current = published(serving_dir(settings)) or {}
    serving = (
        f"run {current.get('run_id')} (interval {current.get('interval_start')})"
        if current
        else "nothing published yet"
    )
    return "\n".join(
        [
            f"customer_intent — interval starting {day}: SKIPPED, no landing data",
            "",
            f"no source delivered a file for this day ({', '.join(SOURCES)} read 0 rows under "
            f"{settings.landing_url.rstrip('/')}/<source>/dt={day}/): nothing was built, published or sent;",
            f"the warehouse, the CRM and the serving copy are as they were (serving: {serving}).",
            "Drop the exports there and run the day again (make run DATE=... or clear the day's run).",
        ]
    )


def saved_days(settings: Settings) -> list[str]:
    """The interval starts that have a saved summary, oldest first."""
    folder = settings.reports_dir / "runs"
    return sorted(p.stem.removeprefix("dt=") for p in folder.glob("dt=*.json")) if folder.exists() else []


def format_summary(summary: dict) -> str:
    """The summary as a few aligned lines for a terminal or a task log."""
    lines = [f"customer_intent — interval starting {summary['interval_start']}", ""]
    lines.append(f"{'table':<22}{'read':>10}{'loaded':>10}{'quarantined':>13}")
    for source, tables in summary["sources"].items():
        if not tables:
            lines.append(f"{source:<22}{'(not extracted)':>33}")
            continue
        for table, c in tables.items():
            lines.append(f"{table:<22}{c['read']:>10}{c['loaded']:>10}{c['quarantined']:>13}")
    for source, warnings in (summary.get("extract_warnings") or {}).items():
        lines += [f"  {source}: {warning}" for warning in warnings]
    quality = summary["quality"]
    lines += ["", f"quality gates: raw={quality['raw']}, marts={quality['marts']}"]
    wh = summary["warehouse"]
    if "error" in wh:
        lines.append(wh["error"])
    else:
        grades = ", ".join(f"{grade} {n}" for grade, n in wh["leads_by_grade"].items())
        lines.append(f"people resolved: {wh['people']}   leads per grade: {grades}")
        lines.append(f"high-intent segment: {wh['segment_high_intent']} (newly hot this interval: {wh['newly_hot']})")
        lines.append(f"funnel stalls: {wh['funnel_stalls']} (became stalls this interval: {wh['newly_stalled']})")
    if "identity_standardisation" in summary:  # summaries saved before it was reported lack it
        lines.append(format_identity_standardisation(summary["identity_standardisation"]))
    for destination, counts in (summary["activation"] or {}).items():
        if not isinstance(counts, dict):
            continue
        keys = ("planned", "sent_ok", "unchanged", "rejected", "deferred", "invalid", "requests")
        # a rejection that reached dead_letter_after made a dead letter: said beside it (docs/activation.md)
        now = f" (dead-lettered now: {counts['dead_lettered_now']})" if counts.get("dead_lettered_now") else ""
        figures = ", ".join(f"{k} {counts.get(k, 0)}{now if k == 'rejected' else ''}" for k in keys)
        if counts.get("dead_lettered"):  # dead letters of earlier runs, not sent again
            figures += f", dead_lettered {counts['dead_lettered']}"
        if counts.get("stale"):  # an older interval than the destination holds: held back (docs/activation.md)
            figures += f", stale {counts['stale']}"
        lines.append(f"activation {destination} [{counts.get('mode')}]: {figures}")
    model = summary.get("conversion_model") or {}
    latest = model.get("latest")
    if latest:
        metrics = latest.get("metrics") or {}
        # a refused model has no metrics: say so rather than "auc None"
        measured = (
            f"auc {metrics['roc_auc']}, ece {metrics.get('ece')}"
            if metrics.get("roc_auc") is not None
            else "not trained"
        )
        lines.append(
            f"conversion model: latest {latest['version']} {latest['status']} ({measured}); the next dbt build scores "
            f"with {model.get('scoring_with') or 'none (rule score only)'}"
        )
        if latest["status"] != "approved":
            lines.append(f"  {latest.get('reason')}")
    lines.append("")
    lines += [f"{name:<16}{path}" for name, path in summary["paths"].items()]
    return "\n".join(lines)
