"""What every data loader of the dashboard shares: the serving copy's marts, and nothing else.

The loaders read the Parquet files of one published version of the BI serving copy
(``<serving>/parquet/<version>/<mart>.parquet``, docs/operations.md), never the build file.
``scripts/dashboard.sh`` resolves the version once (``INTENT_DASHBOARD_PARQUET``) so that every
page of one build shows the same run, even if ``publish`` swaps in a new one meanwhile. Run by
hand (``python3 src/data/overview.json.py``) a loader resolves ``current`` itself.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parents[2] / "config.json"


def fail(message: str) -> None:
    print(f"dashboard: {message}", file=sys.stderr)
    raise SystemExit(2)


def parquet_dir() -> Path:
    """The published Parquet version this build reads."""
    value = os.environ.get("INTENT_DASHBOARD_PARQUET", "").strip()
    if value:
        folder = Path(value)
    else:
        from intent_pipeline.serving import CURRENT, PARQUET_DIR, serving_dir
        from intent_pipeline.settings import Settings

        folder = (serving_dir(Settings.from_env()) / PARQUET_DIR / CURRENT).resolve()
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        fail(f"no published serving copy at {folder}: run the pipeline first (make run), then make dashboard")
    return folder


def serving_root() -> Path:
    """The serving folder (``published.json``) of that version: ``<serving>/parquet/<version>``."""
    return parquet_dir().parent.parent


def config() -> dict[str, Any]:
    return json.loads(CONFIG.read_text(encoding="utf-8"))


class Marts:
    """An in-memory DuckDB with a view ``marts.<name>`` per Parquet file of the version."""

    def __init__(self) -> None:
        import duckdb

        self.folder = parquet_dir()
        self.con = duckdb.connect()
        self.con.execute("create schema marts")
        for path in sorted(self.folder.glob("*.parquet")):
            quoted = str(path).replace("'", "''")
            self.con.execute(f"create view marts.\"{path.stem}\" as select * from read_parquet('{quoted}')")

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, (_plain(value) for value in row), strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, *params: Any) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return _plain(row[0]) if row else None

    def dataset(self, mart: str, sql: str, *params: Any) -> dict[str, Any]:
        """Rows with the mart they come from (each page names its marts)."""
        return {"mart": mart, "rows": self.rows(sql, *params)}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:  # NaN: JSON has no NaN
        return None
    return value


def published() -> dict[str, Any]:
    """``published.json`` of the serving copy: which run and interval it holds."""
    path = serving_root() / "published.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def run_summaries() -> list[dict[str, Any]]:
    """The pipeline's saved run summaries (``<reports>/runs/dt=*.json``), oldest first: the overview
    reads the previous run's newly hot leads and stalls there (the gates' verdicts and the quarantine
    counts come from marts)."""
    from intent_pipeline.settings import Settings

    folder = Path(os.environ.get("INTENT_DASHBOARD_RUNS", "") or Settings.from_env().reports_dir / "runs")
    summaries = []
    for path in sorted(folder.glob("dt=*.json")):
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            continue
    return summaries


def emit(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, ensure_ascii=False, default=str)
