"""``validate_raw`` and ``validate_marts``: run a layer's suites, write its report, return it.

Neither raises on bad data: the report says what failed and :func:`enforce_gate` decides.
They raise only on deployment errors (a suite file missing or rejected by GX, a warehouse
locked by a writer), which a person has to fix or a retry can.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from intent_pipeline.intervals import interval_day
from intent_pipeline.quality.gate import write_report
from intent_pipeline.quality.readers import MissingTable, RawBatches, read_manifest, read_marts
from intent_pipeline.quality.suites import MART_TABLES, RAW_TABLES, load_suite_spec
from intent_pipeline.quality.verdicts import write_verdicts
from intent_pipeline.sources.normalize import id_text_regex

if TYPE_CHECKING:
    from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)

# Timestamps older than this before the interval are suspicious (warning only: a first drop is a
# full-history export, a CRM can hold years of leads).
HISTORY_WINDOW = timedelta(days=730)
# Interval end plus a day of slack for clock skew between systems (daily intervals).
FUTURE_SLACK = timedelta(days=2)
# Expected close dates of open deals lie ahead.
EXPECTED_CLOSE_HORIZON = timedelta(days=400)
# A raw table with more than this share of its rows read in quarantine fails the gate: a wrong export (US
# dates, another tool's columns, a wrong encoding) must stop the run, not load nothing quietly.
# INTENT_MAX_QUARANTINE_SHARE overrides it (the default is Settings.max_quarantine_share's).
MAX_QUARANTINE_SHARE = 0.2
# The latest activation run of a destination that refused more than this share of the rows it had to send
# (marts.activation_runs.reject_share) fails the marts gate. INTENT_MAX_REJECT_SHARE overrides it
# (the default is Settings.max_reject_share's).
MAX_REJECT_SHARE = 0.2
# Below this many rows read the share is a warning only: one bad event of three is no broken export.
MIN_ROWS_FOR_SHARE = 20
# Which extract manifest (source) holds each raw table's counts.
SOURCE_OF_TABLE = {
    "forms_submissions": "forms",
    "email_events": "email",
    "web_events": "web",
    "crm_leads": "crm",
    "crm_opportunities": "crm",
    "crm_orders": "crm",
    "crm_activities": "crm",
}


def max_quarantine_share(env: dict | None = None) -> float:
    """``INTENT_MAX_QUARANTINE_SHARE`` (a share between 0 and 1), else :data:`MAX_QUARANTINE_SHARE`."""
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).max_quarantine_share


def max_reject_share(env: dict | None = None) -> float:
    """``INTENT_MAX_REJECT_SHARE`` (a share between 0 and 1), else :data:`MAX_REJECT_SHARE`."""
    from intent_pipeline.settings import Settings

    return Settings.from_env(env).max_reject_share


def _result(expectation: str, severity: str, success: bool, why: str, **figures) -> dict:
    row: dict = {
        "expectation": expectation, "column": None, "condition": None, "severity": severity, "success": success,
        "rows_checked": None, "unexpected_count": None, "unexpected_percent": None, "examples": [], "why": why,
        "error": None,
    }  # fmt: skip
    row.update(figures)
    return row


def extract_results(manifest: dict | None, table: str, limit: float) -> list[dict]:
    """The raw gate's checks on the extract itself: the table's quarantine share (critical above ``limit``
    once MIN_ROWS_FOR_SHARE rows were read) and the files' column warnings (renamed, unknown, missing
    optional columns, by name). Nothing when the interval has no manifest (a lake written by hand)."""
    counts = (manifest or {}).get("tables", {}).get(table)
    if manifest is None or counts is None:
        return []
    files = [entry for entry in manifest.get("files", []) if entry.get("table") == table]
    read, quarantined = counts["read"], counts["quarantined"]
    share = quarantined / read if read else 0.0
    worst = sorted((e for e in files if e["quarantined"]), key=lambda e: -e["quarantined"])[:5]
    examples = [
        f"{e['path']}: {e['quarantined']} of {e['read']} rows quarantined" + (f" ({e['error']})" if e["error"] else "")
        for e in worst
    ]
    results = [
        _result(
            "quarantine_share_at_most",
            "critical" if read >= MIN_ROWS_FOR_SHARE else "warning",
            share <= limit,
            f"at most {limit:.0%} of the rows read may be quarantined (INTENT_MAX_QUARANTINE_SHARE); more "
            "means a wrong export, which must be fixed, not loaded half",
            rows_checked=read,
            unexpected_count=quarantined,
            unexpected_percent=round(share * 100, 4),
            examples=[] if share <= limit else [example[:500] for example in examples],
        )
    ]
    paths = tuple(f"{entry['path']}" for entry in files)
    warnings = [w for w in manifest.get("warnings", []) if paths and w.startswith(paths)]
    results.append(
        _result(
            "extract_columns_as_expected",
            "warning",
            not warnings,
            "a renamed or unknown column loads its values into extra (or a renamed alias), a missing one as null",
            examples=[warning[:500] for warning in warnings[:20]],
        )
    )
    return results


def grade_thresholds(project_dir: Path | None = None) -> dict:
    """The grade thresholds the marts are built with: the vars ``high_intent_threshold`` and
    ``potential_threshold`` of ``dbt_project.yml``, so the grade checks follow a changed threshold."""
    import yaml

    from intent_pipeline.settings import DBT_PROJECT_DIR

    path = Path(project_dir or DBT_PROJECT_DIR) / "dbt_project.yml"
    variables = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}
    return {name: int(variables[name]) for name in ("high_intent_threshold", "potential_threshold")}


def run_parameters(interval_start: date, people_person_ids: list | None = None) -> dict:
    """The suite parameters (``{"$PARAMETER": name}`` in the suite files) of one interval."""
    start_at = datetime(interval_start.year, interval_start.month, interval_start.day)
    return {
        **grade_thresholds(),
        "interval_start": interval_start,
        "interval_start_at": start_at,
        "window_start": start_at - HISTORY_WINDOW,
        "window_end": start_at + FUTURE_SLACK,
        "future_end": start_at + EXPECTED_CLOSE_HORIZON,
        "people_person_ids": list(people_person_ids or []),
        "max_reject_share": max_reject_share(),
        "id_text_regex": id_text_regex(),
    }


def _missing_table_report(error: MissingTable) -> dict:
    return {
        "rows": None,
        "success": False,
        "error": str(error),
        "results": [
            {
                "expectation": "table_exists",
                "column": None,
                "condition": None,
                "severity": "critical",
                "success": False,
                "rows_checked": None,
                "unexpected_count": None,
                "unexpected_percent": None,
                "examples": [],
                "why": "a gate cannot pass a table it cannot see",
                "error": str(error),
            }
        ],
    }


class _Runner:
    """One GX context and data source for one gate call; one validation per table."""

    def __init__(self, layer: str, interval_start: date, expectations_dir: Path | str | None, tables: tuple):
        from intent_pipeline.quality.checks import configure_context, configure_data_source

        self.layer = layer
        # Every suite is read and checked before any data is touched: a broken suite file fails fast.
        self.specs = {table: load_suite_spec(layer, table, expectations_dir) for table in tables}
        if layer == "raw":
            from intent_pipeline.quality.batched import check_batchable

            for spec in self.specs.values():
                check_batchable(spec)
        self.context = configure_context()
        self.data_source = configure_data_source(self.context, layer)

    def _validation(self, table: str, spec: dict | None = None):
        from intent_pipeline.quality.checks import configure_validation
        from intent_pipeline.quality.suites import configure_suite

        return configure_validation(self.context, self.data_source, table, configure_suite(spec or self.specs[table]))

    def table_report(self, table: str, df, parameters: dict) -> dict:
        from intent_pipeline.quality.checks import run_validation

        results = run_validation(self._validation(table), df, parameters, self.specs[table]["meta"]["key_columns"])
        return _table_report(len(df), results)

    def mart_report(self, table: str, df, parameters: dict, person_ids: list) -> dict:
        """:meth:`table_report` of a mart, its checks against every person id evaluated beside GX
        (quality/referential.py), their rows in the suite file's order."""
        from intent_pipeline.quality.checks import run_validation
        from intent_pipeline.quality.referential import PEOPLE_IDS, is_referential, referential_row

        spec = self.specs[table]
        keys = [column for column in spec["meta"]["key_columns"] if column in df.columns]
        referential = {n for n, e in enumerate(spec["expectations"]) if is_referential(e, df.columns)}
        gx_spec = {**spec, "expectations": [e for n, e in enumerate(spec["expectations"]) if n not in referential]}
        # GX copies its parameters with every expectation: the ids only when a check against them is GX's
        gx_parameters = parameters if any(
            e.get("kwargs", {}).get("value_set") == {"$PARAMETER": PEOPLE_IDS} for e in gx_spec["expectations"]
        ) else {**parameters, PEOPLE_IDS: []}  # fmt: skip
        gx_rows = iter(run_validation(self._validation(table, gx_spec), df, gx_parameters, keys))
        results = [
            referential_row(e, df, person_ids, keys) if n in referential else next(gx_rows)
            for n, e in enumerate(spec["expectations"])
        ]
        return _table_report(len(df), results)

    def batched_report(self, table: str, batches: RawBatches, parameters: dict) -> dict:
        """:meth:`table_report` of a partition read in record batches (quality/batched.py)."""
        from intent_pipeline.quality.batched import batched_results

        key_columns = self.specs[table]["meta"]["key_columns"]
        return _table_report(batches.rows, batched_results(self._validation(table), batches, parameters, key_columns))


def _table_report(rows: int, results: list[dict]) -> dict:
    success = not any(not r["success"] and r["severity"] == "critical" for r in results)
    return {"rows": rows, "success": success, "error": None, "results": results}


def _finish(settings: Settings, layer: str, interval_start: date, tables: dict, run_id: str | None) -> dict:
    results = [r for t in tables.values() for r in t["results"] if not r["success"]]
    critical = sum(1 for r in results if r["severity"] == "critical")
    report = {
        "layer": layer,
        "interval_start": interval_start.isoformat(),
        "success": critical == 0,
        "critical_failures": critical,
        "warning_failures": len(results) - critical,
        "tables": tables,
    }
    path = write_report(settings.reports_dir, report)
    if run_id is not None:
        # the verdict record the warehouse reads (marts.quality_gate_results): the DAG's gates only
        verdicts = write_verdicts(settings.lake_dir, report, run_id)
        log.info("quality %s %s: verdicts recorded in %s", layer, report["interval_start"], verdicts)
    log.info(
        "quality %s %s: %s (%d critical, %d warnings); report %s",
        layer, report["interval_start"], "passed" if report["success"] else "FAILED",
        critical, len(results) - critical, path,
    )  # fmt: skip
    return report


def _log_table(layer: str, table: str, table_report: dict) -> None:
    failed = [r for r in table_report["results"] if not r["success"]]
    log.info(
        "%s.%s: %s rows, %d expectations, %d failed (%d critical)",
        layer, table, table_report["rows"], len(table_report["results"]), len(failed),
        sum(1 for r in failed if r["severity"] == "critical"),
    )  # fmt: skip


def validate_raw(
    settings: Settings,
    interval_start: date,
    *,
    expectations_dir: Path | str | None = None,
    max_share: float | None = None,
    run_id: str | None = None,
) -> dict:
    """Validate the interval's raw partition of each raw table; write and return the report.

    Besides the suites, each table is checked against its extract manifest: more than ``max_share``
    (default :func:`max_quarantine_share`) of its rows in quarantine is a critical failure, and the
    files' column warnings (renamed, unknown, missing optional columns) are reported by name.

    Reads ``<lake>/raw/<table>/dt=YYYY-MM-DD/*.parquet``; a table without a partition is a
    critical failure of that table. A partition of more than ``settings.raw_gate_batch_rows`` rows
    (``INTENT_RAW_GATE_BATCH_ROWS``) is read and validated in record batches of that size, the results
    merged exactly (``quality/batched.py``): the report is the one the whole partition would give. The report goes to
    ``<reports>/quality/dt=YYYY-MM-DD/raw.json`` (and ``raw.md``). With ``run_id`` (the DAG's gate)
    the verdicts are also recorded in the lake for the warehouse (``verdicts.py``).
    """
    interval_start = interval_day(interval_start)
    runner = _Runner("raw", interval_start, expectations_dir, RAW_TABLES)
    parameters = run_parameters(interval_start)
    limit = max_quarantine_share() if max_share is None else max_share
    manifests: dict[str, dict | None] = {}
    tables = {}
    for table in RAW_TABLES:
        try:
            batches = RawBatches(settings.lake_dir, table, interval_start, settings.raw_gate_batch_rows)
            if batches.rows <= batches.batch_rows:  # one batch: the whole partition, as GX sees it
                tables[table] = runner.table_report(table, batches.whole(), parameters)
            else:  # batch by batch, in bounded memory
                tables[table] = runner.batched_report(table, batches, parameters)
        except MissingTable as error:
            tables[table] = _missing_table_report(error)
        try:
            manifest = manifests.setdefault(
                SOURCE_OF_TABLE[table], read_manifest(settings.lake_dir, SOURCE_OF_TABLE[table], interval_start)
            )
            extra = extract_results(manifest, table, limit)
        except MissingTable as error:
            extra = _missing_table_report(error)["results"]
        tables[table]["results"] += extra
        tables[table]["success"] = tables[table]["success"] and not any(
            not r["success"] and r["severity"] == "critical" for r in extra
        )
        _log_table("raw", table, tables[table])
    return _finish(settings, "raw", interval_start, tables, run_id)


def validate_marts(
    settings: Settings,
    interval_start: date,
    *,
    expectations_dir: Path | str | None = None,
    tables: Sequence[str] | None = None,
    run_id: str | None = None,
    reader: Callable[[tuple[str, ...]], dict] | None = None,
) -> dict:
    """Validate the marts in schema ``marts`` of ``settings.warehouse``; write and return the report.
    ``reader``: reads the marts elsewhere instead (``postgres_load.read_marts``: the marts in Postgres),
    ``{table: DataFrame or MissingTable}`` as :func:`read_marts` gives them.

    The marts are read one at a time (people's ids first, then each mart, validated and dropped before the
    next is read), each through a read-only DuckDB connection closed before it is validated, so the gate
    never blocks the next writer. The checks against every person id run beside GX
    (``quality/referential.py``), with GX's numbers. A missing mart is a critical failure of that table.
    The report goes to ``<reports>/quality/dt=YYYY-MM-DD/marts.json`` (and ``marts.md``).
    ``tables``: only these marts (default: every one, as the DAG's gate does); ``people`` is read
    anyway, for the referential-integrity checks of the others. With ``run_id`` (the DAG's gate) the
    verdicts are also recorded in the lake for the warehouse (``verdicts.py``).
    """
    interval_start = interval_day(interval_start)
    selected = MART_TABLES if tables is None else tuple(tables)
    unknown = sorted(set(selected) - set(MART_TABLES))
    if unknown:
        raise ValueError(f"no suite for mart(s) {', '.join(unknown)}; known: {', '.join(MART_TABLES)}")
    runner = _Runner("marts", interval_start, expectations_dir, selected)

    def read(table: str, columns: tuple[str, ...] | None = None):
        frames = reader((table,)) if reader is not None else read_marts(settings.warehouse, (table,), columns=columns)
        return frames[table]

    # Referential integrity (scores, segments, stalls, funnel, credits -> people): the people's ids, read alone.
    people = read("people", columns=("person_id",))
    person_ids = [] if isinstance(people, MissingTable) or "person_id" not in people else people["person_id"].dropna()
    del people
    parameters = run_parameters(interval_start, list(dict.fromkeys(person_ids)))
    reports = {}
    for table in selected:  # one mart in memory at a time
        frame = read(table)
        if isinstance(frame, MissingTable):
            reports[table] = _missing_table_report(frame)
        else:
            reports[table] = runner.mart_report(table, frame, parameters, parameters["people_person_ids"])
        del frame
        _log_table("marts", table, reports[table])
    return _finish(settings, "marts", interval_start, reports, run_id)
