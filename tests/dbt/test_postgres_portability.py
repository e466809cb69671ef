"""The identity SQL on Postgres: a real PostgreSQL server (the OS package; the test run's,
tests/postgres_server.py, with a database of this file's own).

The pipeline builds on DuckDB; the identity macros claim to be portable (ANSI SQL, or dispatched
macros with a Postgres version). This runs them through dbt's postgres adapter: the pointer-jumping
connected components on a graph with a long chain, stars and random edges (checked against
networkx), and the name / regex / similarity macros the guards and the matcher use.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from intent_pipeline import dbt_fork
from intent_pipeline.postgres_load import build_env, profile_env

from tests.dbt.conftest import DBT, DBT_PROJECT, ROOT
from tests.postgres_server import database_fixture, postgres_server_fixture  # noqa: F401  (fixture server)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres(server, tmp_path_factory):
    """This file's database on the test run's server, with fuzzystrmatch, and a folder for dbt."""
    import psycopg2

    con = psycopg2.connect(**server)
    con.autocommit = True
    con.cursor().execute("create extension if not exists fuzzystrmatch")
    try:
        yield {"server": server, "con": con, "base": tmp_path_factory.mktemp("pg-portability")}
    finally:
        con.close()


def dbt_pg(postgres, *args: str) -> subprocess.CompletedProcess:
    base = postgres["base"]
    # the build's session settings (no JIT), as the pipeline runs dbt on Postgres
    env = build_env({
        **os.environ,
        **profile_env(postgres["server"]),
        "INTENT_LAKE_DIR": str(base / "lake"),
        "INTENT_WAREHOUSE": str(base / "unused.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })  # fmt: skip
    command = [str(DBT) if DBT.exists() else "dbt", *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir",
               str(DBT_PROJECT), "--target-path", str(base / "target"), "--log-path", str(base / "logs")]  # fmt: skip
    done = dbt_fork.run(command, env, ROOT)  # the test run's dbt fork server's child, or a subprocess
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    return done


def test_connected_components_macro_runs_on_postgres_and_matches_networkx(postgres):
    import networkx as nx
    from psycopg2.extras import execute_values

    rng = random.Random(7)
    edges = [(f"c:{i:05d}", f"c:{i + 1:05d}") for i in range(600)]  # a chain: diameter 600
    edges += [(f"s:hub{k}", f"s:{k}-{i}") for k in range(20) for i in range(15)]  # stars
    edges += [(f"r:{rng.randrange(800):04d}", f"r:{rng.randrange(800):04d}") for _ in range(600)]
    edges.append(("lonely:1", "lonely:1"))
    cur = postgres["con"].cursor()
    cur.execute("create schema bench; create table bench.edges (node_a varchar, node_b varchar)")
    execute_values(cur, "insert into bench.edges values %s", edges, page_size=len(edges))  # one statement
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


def test_url_macros_give_the_same_answers_on_postgres(postgres):
    """url_path, url_host and url_query_param (macros/urls.sql: one pattern per part, url_regex,
    read by Postgres' substring and DuckDB's regexp_extract) answer on Postgres as stg_web__events
    reads a URL on DuckDB: the path, the host lower-cased, a parameter's first value with '+' a space."""
    cases = {
        "path": "{{ url_path(\"'https://www.example-saas.com/pricing?utm_source=g#top'\") }}",
        "relative_path": "{{ url_path(\"'/docs/api?x=1'\") }}",
        "root_path": "{{ url_path(\"'https://Example.com'\") }}",
        "host": "{{ url_host(\"'https://WWW.Example.com:8443/a'\") }}",
        "no_host": "{{ url_host(\"'/pricing'\") }}",
        "source": "{{ url_query_param(\"'https://x.com/?a=1&utm_source=li+ads&utm_source=2'\", 'utm_source') }}",
        "no_param": "{{ url_query_param(\"'https://x.com/?autm_source=1'\", 'utm_source') }}",
    }
    query = "select " + ", ".join(f"{sql} as {name}" for name, sql in cases.items())
    done = dbt_pg(postgres, "show", "--inline", query, "--output", "json", "--log-format", "json")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    preview = next(line["data"]["preview"] for line in lines if "preview" in line.get("data", {}))
    (row,) = json.loads(preview) if isinstance(preview, str) else preview
    expected = {"path": "/pricing", "relative_path": "/docs/api", "root_path": "/", "host": "www.example.com",
                "no_host": None, "source": "li ads", "no_param": None}  # fmt: skip
    assert row == expected, row


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
