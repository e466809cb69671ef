"""What dbt's processes get of the environment (pipeline.dbt_process_env, docs/dbt-parse.md "dbt's
environment"): every variable the project reads, dbt's own and its secrets, and not the rest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from intent_pipeline.pipeline import dbt_env, dbt_process_env
from intent_pipeline.seed_state import project_files
from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

# env_var('NAME' ...) and env_var('PREFIX_' ~ ...), in any file of the project (models, macros,
# tests, seeds' YAML, dbt_project.yml, profiles.yml)
LITERAL = re.compile(r"""\s*(['"])([A-Za-z0-9_]+)\1\s*(~)?""")
PROSE = re.compile(r"\s*\)")  # "env_var()" in a comment
PY_READ = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*(['"])([A-Za-z0-9_]+)\1""")


def project_env_reads() -> tuple[set[str], set[str]]:
    """(names, prefixes) of the environment variables dbt_project/ reads. Fails on a read whose name
    is not written out (``env_var(name)``), so that a new kind of read cannot slip past this list."""
    names: set[str] = set()
    prefixes: set[str] = set()
    files = [DBT_PROJECT_DIR / p for p in project_files(DBT_PROJECT_DIR)
             if p.suffix in (".sql", ".yml", ".yaml", ".py", ".csv", ".md")]  # fmt: skip
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"env_var\(", text):
            rest = text[match.end() :]
            literal = LITERAL.match(rest)
            if literal:
                (prefixes if literal.group(3) else names).add(literal.group(2))
            else:
                assert PROSE.match(rest), f"{path}: an env_var() whose name is not a literal: {rest[:60]!r}"
        if path.suffix == ".py":
            for read in PY_READ.finditer(text):
                names.add(read.group(2))
            bare = len(re.findall(r"environ|getenv", text)) - len(PY_READ.findall(text))
            assert bare == 0, f"{path}: reads the environment by a name this test cannot see"
    return names, prefixes


def test_the_scan_finds_the_projects_reads():
    names, prefixes = project_env_reads()
    # the profile's, the lake's; the settings' (macro setting: the interval's, the scoring model's, what
    # converts, ...) by a prefix: INTENT_ ~ name
    assert {"DBT_TARGET", "INTENT_WAREHOUSE", "INTENT_PG_PASSWORD", "INTENT_LAKE_DIR"} <= names
    assert prefixes == {"INTENT_"}


def test_every_variable_the_project_reads_reaches_dbt():
    names, prefixes = project_env_reads()
    every = {name: "x" for name in names} | {f"{prefix}ANY_NAME": "x" for prefix in prefixes}
    assert dbt_process_env(every) == every


@pytest.mark.parametrize(
    "name",
    ["DBT_ENV_SECRET_GIT_TOKEN", "DBT_ENV_CUSTOM_ENV_TEAM", "DBT_PROFILES_DIR", "INTENT_ANYTHING", "PATH", "HOME",
     "PYTHONPATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY",
     "PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS",
     "AZURE_STORAGE_CONNECTION_STRING", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "VIRTUAL_ENV"],
)  # fmt: skip
def test_dbt_adapters_libraries_and_the_os_keep_theirs(name):
    assert dbt_process_env({name: "value"}) == {name: "value"}


def test_what_dbt_does_not_read_is_left_out():
    env = {"AIRFLOW__CORE__DAGS_FOLDER": "/dags", "AIRFLOW_CTX_DAG_ID": "customer_intent", "PIP_CERT": "x",
           "OLDPWD": "/", "SHLVL": "2", "_": "/usr/bin/env", "PATH": "/bin"}  # fmt: skip
    assert dbt_process_env(env) == {"PATH": "/bin"}


def test_intent_dbt_env_keep_names_more():
    env = {"MY_PROFILE_HOST": "db", "MY_OTHER": "x", "AIRFLOW_CTX_DAG_ID": "d",
           "INTENT_DBT_ENV_KEEP": " MY_PROFILE_HOST, MY_OTHER ,"}  # fmt: skip
    assert dbt_process_env(env) == {k: v for k, v in env.items() if not k.startswith("AIRFLOW")}


def test_the_dags_dbt_gets_the_trimmed_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "customer_intent")
    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    env = dbt_env(Settings.from_env(), None, None)
    assert "AIRFLOW_CTX_DAG_ID" not in env
    assert env["DBT_ENV_SECRET_TOKEN"] == "s3cret"
    assert env["PATH"] and env["INTENT_LAKE_DIR"] == str(tmp_path / "data" / "lake")
