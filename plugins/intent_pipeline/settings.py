"""Paths and options of one installation, read from the environment.

Every path has a default relative to the project root so that a fresh clone
works without configuration; see docs/contracts.md for the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

SOURCES = ("forms", "email", "web", "crm")


@dataclass(frozen=True)
class Settings:
    """Where one installation keeps its data. Build with :meth:`from_env`."""

    home: Path
    landing_url: str
    lake_dir: Path
    warehouse: Path
    state_dir: Path
    outbox_dir: Path
    reports_dir: Path
    source_timezone: str = "Asia/Shanghai"
    on_bad_file: str = "fail"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``INTENT_*`` variables, falling back to ``<home>/data/...``."""
        env = os.environ if env is None else env
        home = Path(env.get("INTENT_HOME") or PROJECT_ROOT).resolve()
        data = home / "data"
        on_bad_file = env.get("INTENT_ON_BAD_FILE", "fail")
        if on_bad_file not in ("fail", "quarantine"):
            raise ValueError(f"INTENT_ON_BAD_FILE must be 'fail' or 'quarantine', got {on_bad_file!r}")
        return cls(
            home=home,
            landing_url=env.get("INTENT_LANDING_URL") or str(data / "landing"),
            lake_dir=Path(env.get("INTENT_LAKE_DIR") or data / "lake"),
            warehouse=Path(env.get("INTENT_WAREHOUSE") or data / "warehouse.duckdb"),
            state_dir=Path(env.get("INTENT_STATE_DIR") or data / "state"),
            outbox_dir=Path(env.get("INTENT_OUTBOX_DIR") or data / "outbox"),
            reports_dir=Path(env.get("INTENT_REPORTS_DIR") or data / "reports"),
            source_timezone=env.get("INTENT_SOURCE_TIMEZONE", "Asia/Shanghai"),
            on_bad_file=on_bad_file,
        )

    @property
    def models_dir(self) -> Path:
        """Where the conversion model versions are kept (``<version>/model.json``)."""
        return self.state_dir / "models" / "lead_conversion"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "activation_ledger.sqlite"

    def landing_for(self, source: str, interval_start: str) -> str:
        """URL of one source's drop folder for the interval starting on ``interval_start`` (YYYY-MM-DD)."""
        return f"{self.landing_url.rstrip('/')}/{source}/dt={interval_start}"
