"""The audit trail: an append-only record of every push, publish and erasure.

Each call of :func:`record` writes one small Parquet file
``<lake>/audit/dt=YYYY-MM-DD/<timestamp>-<uuid>.parquet`` and never rewrites an existing
one, so the trail is append-only by construction (a crash loses at most the record being
written, never an earlier one). dbt reads ``<lake>/audit/dt=*/*.parquet`` as a source.

Fields other than the fixed ones go into ``details`` as JSON text, so a new kind of event
needs no schema change. Callers must not put personal data into the fields: identifiers
are recorded as counts or as :func:`intent_pipeline.privacy.mask.hashed_key` values.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_COLUMNS = ("audit_id", "recorded_at", "event", "destination", "purpose", "record_count", "run_id", "details")


def audit_dir(lake_dir: Path) -> Path:
    return Path(lake_dir) / "audit"


def record(
    event: str,
    *,
    lake_dir: Path | None = None,
    destination: str | None = None,
    purpose: str | None = None,
    record_count: int | None = None,
    run_id: str | None = None,
    at: datetime | None = None,
    **details: Any,
) -> Path:
    """Append one audit record and return the file written.

    ``lake_dir`` defaults to the installation's lake (``Settings.from_env().lake_dir``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not event:
        raise ValueError("an audit record needs an event name")
    if lake_dir is None:
        from intent_pipeline.settings import Settings

        lake_dir = Settings.from_env().lake_dir
    when = at or datetime.now(UTC)
    row = {
        "audit_id": uuid.uuid4().hex,
        "recorded_at": when.astimezone(UTC).replace(tzinfo=None),
        "event": event,
        "destination": destination,
        "purpose": purpose,
        "record_count": record_count,
        "run_id": run_id,
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    }
    schema = pa.schema(
        [
            ("audit_id", pa.string()),
            ("recorded_at", pa.timestamp("us")),
            ("event", pa.string()),
            ("destination", pa.string()),
            ("purpose", pa.string()),
            ("record_count", pa.int64()),
            ("run_id", pa.string()),
            ("details", pa.string()),
        ]
    )
    folder = audit_dir(lake_dir) / f"dt={when.astimezone(UTC).date().isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{when.astimezone(UTC).strftime('%Y%m%dT%H%M%S%f')}-{row['audit_id']}.parquet"
    temp = folder / f".tmp-{row['audit_id']}"
    pq.write_table(pa.Table.from_pylist([row], schema=schema), temp)
    os.replace(temp, final)
    return final


def read(lake_dir: Path) -> list[dict[str, Any]]:
    """Every audit record under ``lake_dir``, oldest first (for tests and the CLI)."""
    import pyarrow.parquet as pq

    files = sorted(audit_dir(lake_dir).glob("dt=*/*.parquet"))
    rows: list[dict[str, Any]] = []
    for file in files:
        rows.extend(pq.read_table(file).to_pylist())
    return sorted(rows, key=lambda r: (r["recorded_at"], r["audit_id"]))
