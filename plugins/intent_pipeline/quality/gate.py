"""The gate: a report's critical failures stop the run, its warnings are logged; plus the report files.

Report shape (``validate_raw`` / ``validate_marts``)::

    {"layer", "interval_start", "success", "critical_failures", "warning_failures",
     "tables": {table: {"rows", "success", "error", "results": [
         {"expectation", "column", "condition", "severity", "success",
          "rows_checked", "unexpected_count", "unexpected_percent", "examples", "why", "error"}]}}}

written to ``<reports>/quality/dt=YYYY-MM-DD/<layer>.json`` with a Markdown summary ``<layer>.md``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class QualityGateError(Exception):
    """A critical expectation failed: the next stage must not run on this data."""


def failures(report: dict, severity: str) -> list[tuple[str, dict, dict]]:
    """``(table, table_report, result)`` of every failed expectation of ``severity``."""
    return [
        (table, table_report, result)
        for table, table_report in report["tables"].items()
        for result in table_report["results"]
        if not result["success"] and result["severity"] == severity
    ]


def _format_example(example) -> str:
    if not isinstance(example, dict):
        return str(example)
    value = json.dumps(example.get("value"), ensure_ascii=False, default=str) if "value" in example else None
    where = ", ".join(f"{key}={val}" for key, val in example.items() if key != "value")
    if value is None:
        return where
    return f"{value} ({where})" if where else value


def describe(table: str, table_report: dict, result: dict) -> str:
    """One failed expectation in one line: table, expectation, column, how many rows, examples, and why it matters
    (the expectation's ``meta.why`` in its suite)."""
    target = f" on {result['column']}" if result.get("column") else ""
    if result.get("condition"):
        target += f" where {result['condition']}"
    line = f"{table}: {result['expectation']}{target}"
    if result.get("error"):
        line += f" — {result['error']}"
    if result.get("unexpected_count") is not None and result["expectation"] != "expect_table_columns_to_match_set":
        rows = result.get("rows_checked", table_report.get("rows"))
        of = f" of {rows}" if rows is not None else ""
        percent = result.get("unexpected_percent")
        share = f" ({percent:.2f}%)" if percent is not None else ""
        line += f" — {result['unexpected_count']}{of} rows unexpected{share}"
    if result.get("examples"):
        line += "; e.g. " + "; ".join(_format_example(example) for example in result["examples"])
    if result.get("why"):
        line += f" — why: {result['why']}"  # the suite's meta.why: what the check protects
    return line


def enforce_gate(report: dict) -> None:
    """Raise :class:`QualityGateError` listing every failed critical expectation; log the failed warnings."""
    for table, table_report, result in failures(report, "warning"):
        log.warning("quality warning (%s): %s", report["layer"], describe(table, table_report, result))
    critical = failures(report, "critical")
    if not critical:
        log.info("quality gate %s for %s passed", report["layer"], report["interval_start"])
        return
    lines = [
        f"{len(critical)} critical expectation(s) failed in layer {report['layer']} "
        f"for interval {report['interval_start']}:"
    ]
    lines += [f"- {describe(table, table_report, result)}" for table, table_report, result in critical]
    raise QualityGateError("\n".join(lines))


def format_markdown(report: dict) -> str:
    """A short human-readable summary of a report: one line per table, then the failures."""
    verdict = "passed" if report["success"] else "FAILED"
    lines = [
        f"# Quality gate `{report['layer']}` — interval {report['interval_start']}: {verdict}",
        "",
        f"Critical failures: {report['critical_failures']}; warnings: {report['warning_failures']}.",
        "",
        "| table | rows | expectations | critical failed | warnings failed | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for table, table_report in report["tables"].items():
        results = table_report["results"]
        failed = [r for r in results if not r["success"]]
        n_critical = sum(1 for r in failed if r["severity"] == "critical")
        rows = "—" if table_report["rows"] is None else table_report["rows"]
        status = "ok" if table_report["success"] else "**failed**"
        lines.append(f"| {table} | {rows} | {len(results)} | {n_critical} | {len(failed) - n_critical} | {status} |")
    for severity, title in (("critical", "Critical failures"), ("warning", "Warnings")):
        failed = failures(report, severity)
        if failed:
            lines += ["", f"## {title}", ""]
            lines += [
                f"- {describe(table, table_report, result)}".replace("|", "\\|")
                for table, table_report, result in failed
            ]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(reports_dir: Path | str, report: dict) -> Path:
    """Write ``<reports>/quality/dt=YYYY-MM-DD/<layer>.json`` and ``<layer>.md``; returns the JSON's path."""
    folder = Path(reports_dir) / "quality" / f"dt={report['interval_start']}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report['layer']}.json"
    _write_atomic(path, json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    _write_atomic(folder / f"{report['layer']}.md", format_markdown(report))
    return path
