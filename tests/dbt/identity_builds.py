"""The matcher's seeds loaded once per test run, for the identity tests that run the matcher.

Every matcher test (the configured comparisons, names, role mailboxes, the standardisation summary,
the Splink evaluation and estimate) needs the five seeds of the matcher in a DuckDB file of its own.
`dbt seed` costs about 4 CPU-seconds a call, most of it dbt's start and its manifest, not the rows:
so the first test that needs them loads them with the real `dbt seed` into a file shared by every
xdist worker (under a file lock, like conftest's session warehouse), and each test copies that file
as its warehouse before it writes its records.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

from intent_pipeline.identity_estimate import SEEDS, Scratch

from tests.shared import made_once, shared_folder

WAREHOUSE_FILE = "warehouse.duckdb"


def matcher_seeds(tmp_path_factory) -> Path:
    """The DuckDB file of this test run holding the matcher's seeds (SEEDS), loaded by `dbt seed`
    once (the run's parse: call it where INTENT_DBT_PARSE_CACHE points at the test run's parse)."""
    folder = shared_folder(tmp_path_factory) / "matcher-seeds"
    warehouse = folder / WAREHOUSE_FILE

    def seed() -> None:
        Scratch(folder).dbt("seed", "--select", *SEEDS)
        assert not warehouse.with_name(WAREHOUSE_FILE + ".wal").exists(), "dbt left the seeds' file open"
        (folder / "seeded").write_text("\n".join(SEEDS))

    made_once(folder, folder / "seeded", seed)
    return warehouse


def seeded_warehouse(tmp_path_factory, base: Path) -> Path:
    """``base/warehouse.duckdb``: a copy of :func:`matcher_seeds` (``base`` must hold none yet)."""
    target = base / WAREHOUSE_FILE
    assert not target.exists(), target
    base.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(matcher_seeds(tmp_path_factory), target)
    return target


def people_and_groups(group_of: dict[str, str], person_of: dict[str, str]) -> tuple[dict, dict]:
    """The matcher's groups against the truth: (group -> the true people in it, true person -> the
    groups holding their records), from record -> group and record -> true person."""
    people_in: dict[str, set[str]] = defaultdict(set)
    groups_of: dict[str, set[str]] = defaultdict(set)
    for record, group in group_of.items():
        people_in[group].add(person_of[record])
        groups_of[person_of[record]].add(group)
    return people_in, groups_of
