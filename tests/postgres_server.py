"""One PostgreSQL server for the test run, shared by every Postgres test file and xdist worker.

The server is the OS package's (``intent_pipeline.postgres_load.LocalServer``: initdb, pg_ctl),
started by the first test that needs it, with durability off (``fsync``, ``synchronous_commit``,
``full_page_writes``: a crash of a test server loses nothing anyone keeps), and stopped when the
last process using it ends its session. Several xdist workers share it through a record under a
file lock in the run's shared folder (as tests/dbt/conftest.py shares the session warehouse): each
worker counts itself in and out, the last one out stops the server; a worker that comes later
starts a new one.

Each test file gets its own database on it (``server``, module scope; dropped at the file's end),
so files never see each other's schemas. The name holds the process id as well as the file's: under
xdist's default ``--dist load`` (``pytest -n 2`` without ``--dist loadfile``) two workers run tests
of the same file, each with its own module fixtures, and with one name per file each worker's
``drop database ... with (force)`` could remove the other's database between two of its dbt nodes
(dbt closes its connection after each node), so that build went on in a new database that was
empty or half loaded. Import the fixtures into a test module::

    from tests.postgres_server import database_fixture, postgres_server_fixture  # noqa: F401
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.shared import shared_folder

# test-only: a server whose data nobody keeps need not survive an OS crash
TEST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@pytest.fixture(scope="session", name="postgres_server")
def postgres_server_fixture(tmp_path_factory) -> Iterator[Any]:
    """The run's PostgreSQL server (a ``LocalServer``), started on first use."""
    from filelock import FileLock
    from intent_pipeline.postgres_load import LocalServer

    folder = shared_folder(tmp_path_factory) / "postgres"
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "server.json"
    lock = FileLock(str(folder / "server.lock"))
    with lock:
        saved = json.loads(record.read_text()) if record.exists() else None
        server = LocalServer.running(saved["folder"], saved["port"]) if saved else None
        if server is None or not server.is_running():
            server = LocalServer(TEST_SETTINGS)
            server.start()
            saved = {"folder": str(server.folder), "port": server.port, "users": 0}
        assert saved is not None
        saved["users"] += 1
        record.write_text(json.dumps(saved))
    try:
        yield server
    finally:
        with lock:
            saved = json.loads(record.read_text())
            saved["users"] -= 1
            if saved["users"] > 0:
                record.write_text(json.dumps(saved))
            else:
                server.stop()
                record.unlink()


def pg_rows(connection: dict, sql: str) -> list[tuple]:
    """Every row of ``sql`` on the server and database of ``connection`` (a database fixture's dict)."""
    import psycopg2

    con = psycopg2.connect(**connection)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        con.close()


def masked_emails(connection: dict) -> tuple[int, int, int]:
    """(addresses, masked, keyed): of the non-empty emails BI reads in ``serving.people``, how many
    there are, how many are masked (``a***@domain`` or ``***``) and how many carry ``email_key``."""
    sql = ("select count(*), count(*) filter (where email like '_***@%' or email = '***'), count(email_key)"
           " from serving.people where email is not null and email <> ''")  # fmt: skip
    return pg_rows(connection, sql)[0]


def create_database(server, name: str) -> dict[str, Any]:
    """A new, empty database ``name`` (UTF8, C.UTF-8: the cluster's) on ``server``, replacing one
    left by an earlier try; its psycopg2 connection parameters."""
    _as_admin(server, f'drop database if exists "{name}" with (force)', f'create database "{name}"')
    return server.params(name)


def drop_database(server, name: str) -> None:
    _as_admin(server, f'drop database if exists "{name}" with (force)')


def _as_admin(server, *statements: str) -> None:
    """``statements`` on the server's ``postgres`` database, outside a transaction (as
    ``create``/``drop database`` must run)."""
    import psycopg2

    admin = psycopg2.connect(**server.params("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        admin.close()


@pytest.fixture(scope="module", name="server")
def database_fixture(request, postgres_server) -> Iterator[dict[str, Any]]:
    """This test file's own database on the run's server, for this process alone (another xdist
    worker running tests of the same file gets another): psycopg2 connection parameters (``host``,
    ``port``, ``user``, ``password``, ``dbname``)."""
    module = re.sub(r"[^a-z0-9_]", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"t_{module[:48]}_{os.getpid()}"  # within Postgres's 63 characters
    connection = create_database(postgres_server, name)
    try:
        yield connection
    finally:
        drop_database(postgres_server, name)
