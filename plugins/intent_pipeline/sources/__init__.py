"""Extract: one landing drop of a source into the raw lake (docs/contracts.md, "Landing layout" and "Raw lake").

``extract_source("forms", settings, date(2026, 11, 21), batch_id="run/forms", loaded_at=...)`` reads
``<landing>/forms/dt=2026-11-21/`` through fsspec, writes the interval's raw and quarantine partitions
(replacing them atomically) and the manifest, and returns the manifest.

Each source is a small package (``forms``, ``email``, ``web``, ``crm``) whose ``extract`` module has
``TABLES``, ``FILE_TYPES`` and ``parse_file(file, ctx, builders)``. They are imported lazily: importing
this package costs nothing for the Airflow DAG processor.
"""

from __future__ import annotations

import logging
import posixpath
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from intent_pipeline.intervals import interval_day, naive_utc

if TYPE_CHECKING:
    from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)

SOURCES = ("forms", "email", "web", "crm")


class AccountingError(RuntimeError):
    """Rows read and rows written disagree: a bug in an extractor, never bad input."""


def _naive_utc(moment: datetime | None) -> datetime:
    # now only when a caller passes nothing; the DAG always passes the run's timestamp
    return naive_utc(moment if moment is not None else datetime.now(UTC))


def list_drop(url: str, source: str, ds: str) -> list:
    """The files of one drop folder (sorted by name; hidden ``.``/``_`` files skipped). Missing folder: none."""
    import fsspec

    from intent_pipeline.sources.base import LandingFile, storable_text

    fs, root = fsspec.core.url_to_fs(url)
    try:
        entries = fs.ls(root, detail=True)
    except FileNotFoundError:
        log.warning("%s: no drop folder at %s; extracting zero files", source, url)
        return []
    files = []
    for entry in entries:
        path = entry["name"]
        name = posixpath.basename(path.rstrip("/"))
        if entry.get("type") != "file":
            log.warning("%s: ignoring folder %s in the drop (only files directly in it are read)", source, path)
            continue
        if name.startswith((".", "_")):  # .DS_Store, _SUCCESS markers, partial uploads
            continue
        # An undecodable file name (bytes that are not UTF-8) keeps its escapes in _source_file.
        files.append(LandingFile(fs=fs, path=path, rel=storable_text(f"{source}/dt={ds}/{name}")))
    return sorted(files, key=lambda f: f.name)


def _file_failed(file, exc: Exception, tables: tuple, builders: dict, before: dict):
    """The outcome of a file whose parser raised: rows it already handed over stay where they went, and
    the rest of the file is one quarantine row (number 0) whose reason names the file and the cause.

    The extractors turn every known kind of bad input into a reason themselves; this is the net under
    them, so one unforeseen file never costs the other files of the drop their load.
    """
    from intent_pipeline.sources.base import FileOutcome, raw_json

    log.exception("%s: parsing failed", file.rel)
    done = {
        t: sum(now - was for now, was in zip((b.loaded, b.quarantined, b.suppressed), before[t], strict=True))
        for t, b in builders.items()
    }
    table = next((t for t in tables if done[t]), tables[0])
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = f"cannot parse {file.rel}: {cause}"
    if done[table]:
        error += f" (after {done[table]} rows; the rest of the file is not loaded)"
    builders[table].reject(file.rel, 0, error, raw_json({"file": file.rel, "rows_before_error": done[table]}))
    return FileOutcome(table, done[table] + 1, error)


def extract_source(
    source: str,
    settings: Settings,
    interval_start: date,
    batch_id: str,
    loaded_at: datetime | None = None,
) -> dict:
    """Extract ``<landing>/<source>/dt=<interval_start>/`` into the raw lake and return the manifest.

    Writes ``raw/<table>/dt=…/part-0.parquet`` and ``quarantine/<table>/dt=…/part-0.parquet`` for every
    table of the source (empty files with the full schema when there are no rows), replacing the
    interval's previous partitions atomically, then ``manifests/<source>/dt=….json``.

    File-level problems (undecodable file, unrecognised header, missing required column, unsupported
    file type, a file its parser could not finish) quarantine the file's rows and are listed in
    ``manifest["file_errors"]``; this function does not raise for them (the caller applies
    ``settings.on_bad_file``). ``manifest["warnings"]`` names renamed, unknown and missing optional
    columns. A missing drop folder gives empty partitions and a manifest with zero counts.

    ``loaded_at`` is the run's timestamp (naive UTC, or aware and converted); ``now()`` only when None.
    """
    import importlib
    from contextlib import ExitStack
    from zoneinfo import ZoneInfo

    from intent_pipeline import lake
    from intent_pipeline.sources.base import ExtractContext, TableBuilder

    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    day = interval_day(interval_start)
    ds = day.isoformat()
    loaded = _naive_utc(loaded_at)
    extractor = importlib.import_module(f"intent_pipeline.sources.{source}.extract")
    from intent_pipeline.privacy import suppression as suppression_list

    # erased people (docs/privacy.md, "Erasure"): their rows are dropped here and counted as suppressed
    suppression = suppression_list.load(settings)
    ctx = ExtractContext(source_tz=ZoneInfo(settings.source_timezone), interval_start=day, loaded_at=loaded,
                         batch_id=batch_id, suppression=suppression)  # fmt: skip
    url = settings.landing_for(source, ds)
    files = list_drop(url, source, ds)

    file_entries: list[dict] = []
    file_errors: list[str] = []
    warnings: list[str] = []
    with ExitStack() as stack:
        builders: dict[str, TableBuilder] = {}
        writers = []
        for table in extractor.TABLES:
            raw = stack.enter_context(lake.PartitionWriter(settings.lake_dir, "raw", table, day))
            quarantine = stack.enter_context(lake.PartitionWriter(settings.lake_dir, "quarantine", table, day))
            writers += [raw, quarantine]
            builders[table] = TableBuilder(table, ctx, raw, quarantine)
        for file in files:
            if not file.name.lower().endswith(extractor.FILE_TYPES):
                error = f"unsupported file type {file.rel} (expected {' or '.join(extractor.FILE_TYPES)}); not read"
                file_errors.append(error)
                file_entries.append({"path": file.rel, "table": None, "read": 0, "loaded": 0, "quarantined": 0,
                                     "error": error})  # fmt: skip
                continue
            before = {table: (b.loaded, b.quarantined, b.suppressed) for table, b in builders.items()}
            try:
                outcome = extractor.parse_file(file, ctx, builders)
            except OSError:
                raise  # the landing store failed (network, permissions): a retry can fix that, not the data
            except Exception as exc:  # any bytes must not stop the drop: the file is reported, the others load
                outcome = _file_failed(file, exc, extractor.TABLES, builders, before)
            counts = {"read": outcome.read, "loaded": 0, "quarantined": 0}
            if suppression:
                counts["suppressed"] = 0
            for table, builder in builders.items():
                counts["loaded"] += builder.loaded - before[table][0]
                counts["quarantined"] += builder.quarantined - before[table][1]
                if suppression:
                    counts["suppressed"] += builder.suppressed - before[table][2]
            if counts["read"] != counts["loaded"] + counts["quarantined"] + counts.get("suppressed", 0):
                raise AccountingError(f"{file.rel}: read {counts['read']} rows but wrote {counts}")
            if outcome.error:
                file_errors.append(outcome.error)
            for warning in outcome.warnings:
                log.warning("%s: %s", source, warning)
            warnings += outcome.warnings
            file_entries.append({"path": file.rel, "table": outcome.table, **counts, "error": outcome.error})
            log.info("%s: %s -> %s (%s)", source, file.rel, outcome.table, counts)
        for builder in builders.values():
            builder.flush()
        # Commit only once every file is parsed: a failure above leaves the previous partitions untouched.
        for writer in writers:
            writer.commit()

    tables = {}
    for table, builder in builders.items():
        read = sum(e["read"] for e in file_entries if e["table"] == table)
        if read != builder.loaded + builder.quarantined + builder.suppressed:
            raise AccountingError(
                f"{table}: read {read}, loaded {builder.loaded}, quarantined {builder.quarantined}, "
                f"suppressed {builder.suppressed}"
            )
        tables[table] = {"read": read, "loaded": builder.loaded, "quarantined": builder.quarantined}
        if suppression:  # only with a suppression list in force: read = loaded + quarantined + suppressed
            tables[table]["suppressed"] = builder.suppressed
    manifest = {
        "source": source,
        "interval_start": ds,
        "batch_id": batch_id,
        "loaded_at": loaded.isoformat(sep=" "),
        "files": file_entries,
        "tables": tables,
        "file_errors": file_errors,
        "warnings": warnings,
    }
    lake.write_manifest(settings.lake_dir, source, day, manifest)
    return manifest
