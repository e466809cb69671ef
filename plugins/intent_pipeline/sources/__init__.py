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

    from intent_pipeline.sources.base import LandingFile

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
        files.append(LandingFile(fs=fs, path=path, rel=f"{source}/dt={ds}/{name}"))
    return sorted(files, key=lambda f: f.name)


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
    file type) quarantine the file's rows and are listed in ``manifest["file_errors"]``; this function
    does not raise for them (the caller applies ``settings.on_bad_file``). A missing drop folder gives
    empty partitions and a manifest with zero counts.

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
    ctx = ExtractContext(source_tz=ZoneInfo(settings.source_timezone), interval_start=day, loaded_at=loaded,
                         batch_id=batch_id)  # fmt: skip
    url = settings.landing_for(source, ds)
    files = list_drop(url, source, ds)

    file_entries: list[dict] = []
    file_errors: list[str] = []
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
            before = {table: (b.loaded, b.quarantined) for table, b in builders.items()}
            outcome = extractor.parse_file(file, ctx, builders)
            counts = {"read": outcome.read, "loaded": 0, "quarantined": 0}
            for table, builder in builders.items():
                counts["loaded"] += builder.loaded - before[table][0]
                counts["quarantined"] += builder.quarantined - before[table][1]
            if counts["read"] != counts["loaded"] + counts["quarantined"]:
                raise AccountingError(f"{file.rel}: read {counts['read']} rows but wrote {counts}")
            if outcome.error:
                file_errors.append(outcome.error)
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
        if read != builder.loaded + builder.quarantined:
            raise AccountingError(f"{table}: read {read}, loaded {builder.loaded}, quarantined {builder.quarantined}")
        tables[table] = {"read": read, "loaded": builder.loaded, "quarantined": builder.quarantined}
    manifest = {
        "source": source,
        "interval_start": ds,
        "batch_id": batch_id,
        "loaded_at": loaded.isoformat(sep=" "),
        "files": file_entries,
        "tables": tables,
        "file_errors": file_errors,
    }
    lake.write_manifest(settings.lake_dir, source, day, manifest)
    return manifest
