"""The identity SQL on Postgres: a real PostgreSQL server (the OS package), started here.

The pipeline builds on DuckDB; the identity macros claim to be portable (ANSI SQL, or dispatched
macros with a Postgres version). This runs them through dbt's postgres adapter: the pointer-jumping
connected components on a graph with a long chain, stars and random edges (checked against
networkx), and the name / regex / similarity macros the guards and the matcher use.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.dbt.conftest import DBT, DBT_PROJECT, ROOT

pytestmark = pytest.mark.slow

INITDB = shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb"
PG_CTL = shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: drop to the `postgres` account the OS package created
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres():
    if not Path(INITDB).exists():
        pytest.fail("PostgreSQL is not installed (initdb not found): install the OS package postgresql")
    # not pytest's tmp_path: its parents are private to root, and the server runs as `postgres`
    base = Path(tempfile.mkdtemp(prefix="intent-pg-"))
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres_user([INITDB, "-D", str(data), "-A", "trust", "-U", "intent"]), check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run(_as_postgres_user([PG_CTL, "-D", str(data), "-l", str(data / "server.log"), "-w", "start", "-o",
                                      f"-p {port} -k {data} -c listen_addresses=127.0.0.1"]), check=True,
                   capture_output=True)  # fmt: skip
    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", port=port, user="intent", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute("create database intent_warehouse")
    admin.close()
    con = psycopg2.connect(host="127.0.0.1", port=port, user="intent", dbname="intent_warehouse")
    con.autocommit = True
    con.cursor().execute("create extension if not exists fuzzystrmatch")
    try:
        yield {"port": port, "con": con, "base": base}
    finally:
        con.close()
        subprocess.run(_as_postgres_user([PG_CTL, "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def dbt_pg(postgres, *args: str) -> subprocess.CompletedProcess:
    base = postgres["base"]
    env = {
        **os.environ,
        "DBT_TARGET": "postgres",
        "INTENT_PG_HOST": "127.0.0.1",
        "INTENT_PG_PORT": str(postgres["port"]),
        "INTENT_PG_USER": "intent",
        "INTENT_PG_PASSWORD": "",
        "INTENT_PG_DBNAME": "intent_warehouse",
        "INTENT_LAKE_DIR": str(base / "lake"),
        "INTENT_WAREHOUSE": str(base / "unused.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    command = [str(DBT) if DBT.exists() else "dbt", *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir",
               str(DBT_PROJECT), "--target-path", str(base / "target"), "--log-path", str(base / "logs")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    return done


def test_connected_components_macro_runs_on_postgres_and_matches_networkx(postgres):
    import networkx as nx

    rng = random.Random(7)
    edges = [(f"c:{i:05d}", f"c:{i + 1:05d}") for i in range(600)]  # a chain: diameter 600
    edges += [(f"s:hub{k}", f"s:{k}-{i}") for k in range(20) for i in range(15)]  # stars
    edges += [(f"r:{rng.randrange(800):04d}", f"r:{rng.randrange(800):04d}") for _ in range(600)]
    edges.append(("lonely:1", "lonely:1"))
    cur = postgres["con"].cursor()
    cur.execute("create schema bench; create table bench.edges (node_a varchar, node_b varchar)")
    cur.executemany("insert into bench.edges values (%s, %s)", edges)
    done = dbt_pg(postgres, "run-operation", "connected_components_table", "--args",
                  json.dumps({"edges": "bench.edges", "target_table": "bench.components"}))  # fmt: skip
    assert "converged in" in done.stdout
    cur.execute("select node_key, component_key, cc_rounds from bench.components")
    rows = cur.fetchall()
    graph = nx.Graph(edges)
    expected = {node: min(component) for component in nx.connected_components(graph) for node in component}
    assert {node: component for node, component, _ in rows} == expected
    assert max(rounds for _, _, rounds in rows) <= 12  # log-ish in the diameter, not ~600 passes
    cur.execute("select count(*) from information_schema.tables where table_name like 'components__cc%%'")
    assert cur.fetchone()[0] == 0, "scratch tables left behind"


def test_identity_macros_give_the_same_answers_on_postgres(postgres):
    query = """
        select
            {{ name_key("'Na  Li'") }} as latin,
            {{ name_key("'li na'") }} as latin_swapped,
            {{ is_cjk_name("'李娜'") }} as cjk,
            {{ is_cjk_name("'Li Na'") }} as not_cjk,
            {{ regex_search("'13800000000'", "'^[0-]*$'") }} as zeros_not_blocked,
            {{ regex_search("'0000-000'", "'^[0-]*$'") }} as zeros_blocked,
            {{ canonical_email("'li.na+saas@gmail.com'") }} as gmail,
            {{ canonical_email("'li.na+x@qq.com'") }} as qq,
            {{ string_similarity("'zhangwei'", "'zhangwei'") }} as same,
            {{ string_similarity("'zhangwei'", "'wangfang'") }} < 0.8 as different,
            {{ latin_names_conflict("'David Brown'", "'Rachel  brown'") }} as family,
            {{ latin_names_conflict("'Mike Smith'", "'Michael Smith'") }} as nickname,
            {{ latin_names_conflict("'Wang Wei'", "'wei wang'") }} as swapped
    """
    # the similarity functions are created by the on-run-start hook, which `dbt show` does not run
    dbt_pg(postgres, "run-operation", "install_portable_functions")
    done = dbt_pg(postgres, "show", "--inline", query, "--output", "json", "--log-format", "json")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    preview = next(line["data"]["preview"] for line in lines if "preview" in line.get("data", {}))
    (row,) = json.loads(preview) if isinstance(preview, str) else preview
    assert row == {"latin": "lina", "latin_swapped": "lina", "cjk": True, "not_cjk": False,
                   "zeros_not_blocked": False, "zeros_blocked": True, "gmail": "lina@gmail.com",
                   "qq": "li.na+x@qq.com", "same": 1.0, "different": True, "family": True, "nickname": False,
                   "swapped": False}, row  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
