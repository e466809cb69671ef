"""What the Airflow-driven tests share per test run: a migrated metadata DB and dbt's parse of the project.

``airflow db migrate`` costs an Airflow CLI process (about 3.4 CPU-seconds here, 1.5 of them the
migration itself, whether the DB is new or already migrated), and the first ``dbt build`` of a new
installation parses the whole project (about 5 CPU-seconds). Each test of the Airflow-driven files
used to pay both for its own temporary home. Here they are made once per test run, under a file
lock in a folder every xdist worker of the run shares (as tests/dbt/conftest.py shares its
warehouse), and copied:

* :func:`airflow_metadata`: a SQLite metadata DB just as ``airflow db migrate`` leaves it (the
  schema, the default pool, the log templates; nothing of a home's own), copied into a home's
  ``airflow.db`` by :func:`install_metadata`. The pools a test needs it still creates itself, with
  the CLI, as the setup does.
* :func:`seed_dbt_parse`: dbt's saved parse of the project (tests/dbt/conftest.py's, made by
  ``dbt parse``), copied where the DAG's ``dbt build`` of an installation keeps its own
  (``<state>/dbt/target``): dbt then re-parses only the files that read a changed env var (the
  lake's sources, the interval's macros), as it does for every later run of that installation.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from intent_pipeline import dbt_fork

from tests.shared import made_once, shared_folder

ROOT = Path(__file__).resolve().parents[1]
METADATA_FILE = "airflow.db"


def airflow_env(airflow_home: Path) -> dict[str, str]:
    """The environment of an Airflow CLI process on the SQLite metadata DB of ``airflow_home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "INTENT_"))}
    env.update(
        **dbt_fork.passed_on(os.environ),  # the test process's dbt fork server (tests/conftest.py)
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="intent_pipeline.airflow_sqlite.CONNECT_ARGS",
        PYTHONPATH=str(ROOT / "plugins"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    return env


def airflow_metadata(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A metadata DB migrated by ``airflow db migrate`` once per test run (the first caller migrates
    under a file lock, the others wait and get the same file). Never open it: copy it
    (:func:`install_metadata`)."""
    folder = shared_folder(tmp_path_factory) / "airflow-metadata"
    template = folder / METADATA_FILE

    def migrate() -> None:
        home = folder / "home"
        shutil.rmtree(home, ignore_errors=True)  # a failed attempt's leftovers
        home.mkdir()
        done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=airflow_env(home),
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        migrated = home / METADATA_FILE
        # write-ahead logging (Airflow sets it; it persists in the file): fold the log into the
        # file, so that the one file is the whole DB, then publish it by rename
        con = sqlite3.connect(migrated)
        try:
            mode = con.execute("pragma journal_mode").fetchone()[0]
            con.execute("pragma wal_checkpoint(truncate)")
        finally:
            con.close()
        assert mode == "wal", f"{migrated}: journal_mode {mode}"
        partial = folder / f".{METADATA_FILE}.{os.getpid()}"
        shutil.copyfile(migrated, partial)
        os.replace(partial, template)

    return made_once(folder, template, migrate)


def install_metadata(template: Path, airflow_home: Path) -> Path:
    """``template`` (:func:`airflow_metadata`) as the metadata DB of ``airflow_home`` (a new home)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    db = airflow_home / METADATA_FILE
    if db.exists():
        raise FileExistsError(f"{db} exists: install the migrated template into a new home only")
    shutil.copyfile(template, db)
    return db


def seed_dbt_parse(shared: Path, intent_home: Path) -> Path:
    """dbt's parse of the project (made once per test run, kept under ``shared``: :func:`shared_folder`)
    where the DAG's build of the installation at ``intent_home`` keeps its own (its state folder,
    ``dbt/target``); returns that target."""
    from tests.dbt.conftest import _seed_partial_parse, use_parse_cache

    use_parse_cache(shared / "dbt-parse")
    base = intent_home / "data" / "state" / "dbt"
    _seed_partial_parse(base)
    return base / "target"
