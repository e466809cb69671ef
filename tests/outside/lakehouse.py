"""Landing drops through the real extract into a raw lake, then real dbt days on one DuckDB file.

What the outside checks of the incremental days share (docs/incremental.md, "Tests"): a folder that
is an ``INTENT_HOME`` (landing, lake) with its warehouse beside it, days delivered as landing files
(the vendors' export formats), extracted by ``intent_pipeline.sources.extract_source`` for every
source (a source without files gets its empty partitions, as the DAG's extract tasks write them),
and built by the real dbt CLI for the day's interval (``tests/dbt/conftest.run_dbt``: the DAG's
environment, the test run's parse). Nothing here writes the lake or the warehouse by hand.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from intent_pipeline.settings import Settings

from tests.dbt.conftest import INCREMENTAL_MODELS, WAREHOUSE_FILE, Build, run_dbt

SOURCES = ("forms", "email", "web", "crm")
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Submitted At"]
# what a first build of an empty warehouse runs when the tables alone matter: the seeds and the models
# (a `dbt run` would find no seed); the DAG's `dbt build` runs the data tests too, which write no table
SEEDS_AND_MODELS = ("build", "--exclude-resource-type", "unit_test", "test")


SALESFORCE_LEADS = ["Lead ID", "Email", "Phone", "Name", "Company", "Status", "Created Date", "Last Modified Date"]


def export_csv(header: list[str], rows: list[list[str]], bom: bool = False) -> bytes:
    """A CSV as the vendors' exports write it (CRLF; with ``bom`` as Excel's "CSV UTF-8" does)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def interval(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


@dataclass
class Lakehouse:
    """``base``: the ``INTENT_HOME`` of the landing drops and the lake, and ``warehouse.duckdb``."""

    base: Path

    @property
    def settings(self) -> Settings:
        return Settings.from_env({"INTENT_HOME": str(self.base), "INTENT_SOURCE_TIMEZONE": "Asia/Shanghai",
                                  "INTENT_PII_SALT": "outside-salt"})  # fmt: skip

    @property
    def build(self) -> Build:
        return Build(base=self.base, warehouse=self.base / WAREHOUSE_FILE, lake=self.settings.lake_dir,
                     build=None)  # type: ignore[arg-type]  # fmt: skip

    def deliver(self, source: str, day: date, name: str, data: bytes) -> Path:
        """Put one landing file into ``source``'s drop for ``day`` (replacing a file of that name)."""
        folder = Path(self.settings.landing_for(source, day.isoformat()))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        return folder / name

    def extract(self, day: date, loaded_at: datetime | None = None, sources: tuple[str, ...] = SOURCES) -> dict:
        """Every source's extract for ``day`` (the DAG's extract tasks), at ``loaded_at`` (default: an
        hour after the day ends, as a scheduled run loads it). Returns source -> manifest."""
        from intent_pipeline.sources import extract_source

        at = loaded_at or datetime.combine(day, time(1)) + timedelta(days=1)
        return {source: extract_source(source, self.settings, day, batch_id=f"outside/{source}/{day}",
                                       loaded_at=at) for source in sources}  # fmt: skip

    def dbt(self, day: date, *args: str) -> str:
        """One dbt call for ``day``'s interval on this warehouse and lake; fails the test on an error."""
        done = run_dbt(self.base, self.settings.lake_dir, *args, interval=interval(day))
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
        return done.stdout

    def copy_to(self, base: Path) -> Lakehouse:
        """A private copy (landing, lake, warehouse) to build something else on."""
        shutil.copytree(self.base / "data", base / "data")
        shutil.copyfile(self.base / WAREHOUSE_FILE, base / WAREHOUSE_FILE)
        return Lakehouse(base)

    def refreshed_copy(self, base: Path, day: date) -> Lakehouse:
        """A copy (:meth:`copy_to`) with the models ``--full-refresh`` rebuilds (the incremental ones:
        conftest's ``INCREMENTAL_MODELS``, which test_incremental checks against the manifest) refreshed
        for ``day``'s interval: what a ``dbt run --full-refresh`` of the same warehouse and lake makes,
        as conftest's ``DayOne.day_two`` argues (every other table or view is rebuilt whole by each
        daily run from those models' rows and the lake; a history ``--full-refresh`` never rebuilds)."""
        copy = self.copy_to(base)
        copy.dbt(day, "run", "--full-refresh", "--select", *sorted(INCREMENTAL_MODELS))
        return copy

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every table of staging, intermediate and marts, rows in a stable order (Build.rows: one connection)."""
        return self.build.rows()


def differing(one: dict[str, list[tuple]], other: dict[str, list[tuple]]) -> list[str]:
    """The tables whose rows differ between two snapshots (the same tables on both sides)."""
    assert sorted(one) == sorted(other), set(one) ^ set(other)
    return [table for table in one if one[table] != other[table]]
