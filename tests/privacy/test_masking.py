"""Masked BI: the serving copy shows the dbt-tagged PII columns masked or hashed, in DuckDB and in
Parquet (plugins/intent_pipeline/privacy/serving_mask.py, serving.publish)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from intent_pipeline import serving
from intent_pipeline.privacy import serving_mask
from intent_pipeline.privacy.mask import hashed_key
from intent_pipeline.settings import DBT_PROJECT_DIR

PEOPLE = [
    ("p1", "wang.wei@example.com", "+8613800138000", "王伟", "email:wang.wei@example.com phone:+8613800138000", 80),
    ("p2", "ada@lovelace.org", None, "Ada Lovelace", "email:ada@lovelace.org", 40),
]


def build(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.people (person_id varchar, email varchar, phone varchar, full_name varchar, "
        "identifiers varchar, lead_score integer)"
    )
    con.executemany("insert into marts.people values (?, ?, ?, ?, ?, ?)", PEOPLE)
    con.execute("create table marts.segment_high_intent as select person_id, email, lead_score from marts.people")
    con.execute("create table marts.channel_attribution as select 'email' as channel, 3.0 as credit")
    con.close()


def manifest(path: Path) -> Path:
    """A dbt manifest as dbt 1.11 writes the tag (column config meta), plus a staging model that is not served."""
    column = {"config": {"meta": {"pii": True}, "tags": ["pii"]}, "meta": {}}
    nodes = {
        "model.x.people": {"resource_type": "model", "name": "people", "alias": "people", "schema": "marts",
                           "columns": {"email": column, "phone": column, "full_name": column,
                                       "identifiers": {"meta": {"pii": True}}, "lead_score": {"meta": {}}}},
        "model.x.segment_high_intent": {"resource_type": "model", "name": "segment_high_intent",
                                        "schema": "marts", "columns": {"email": column}},
        "model.x.stg": {"resource_type": "model", "name": "stg_forms", "schema": "staging",
                        "columns": {"email": column}},
    }  # fmt: skip
    path.write_text(json.dumps({"nodes": nodes}))
    return path


@pytest.fixture()
def published(tmp_path, monkeypatch):
    monkeypatch.setenv("INTENT_PII_SALT", "mask-test-salt")
    monkeypatch.delenv("INTENT_SERVING_MASK", raising=False)
    build(tmp_path / "build.duckdb")
    pii = serving_mask.pii_columns(manifest(tmp_path / "manifest.json"))
    result = serving.publish(tmp_path / "build.duckdb", tmp_path / "serving", run_id="r1", pii=pii)
    return tmp_path / "serving", result


def test_tags_are_read_from_the_manifest(tmp_path):
    assert serving_mask.pii_columns(manifest(tmp_path / "m.json")) == {
        "people": {"email": "email", "phone": "phone", "full_name": "name", "identifiers": "hash"},
        "segment_high_intent": {"email": "email"},
    }


def test_tags_of_the_project_are_read_from_its_yaml():
    tagged = serving_mask.pii_columns_from_yaml(DBT_PROJECT_DIR / "models" / "marts")
    assert tagged["people"] == {"email": "email", "phone": "phone", "full_name": "name", "identifiers": "hash"}
    assert tagged["segment_crm_updates"]["email"] == "email"
    assert "stg_forms__submissions" not in tagged  # staging is never served


def test_the_serving_copy_shows_masked_values(published):
    target, result = published
    con = serving.connect(target)
    try:
        rows = con.execute(
            "select person_id, email, phone, full_name, identifiers, lead_score, email_key, phone_key "
            "from marts.people order by 1"
        ).fetchall()
        masked = con.execute("select mart, column_name, rule from serving.masked_columns order by 1, 2").fetchall()
    finally:
        con.close()
    assert rows[0][:4] == ("p1", "w***@example.com", "***8000", "王*")
    assert rows[1][:4] == ("p2", "a***@lovelace.org", None, "A***")
    assert rows[0][4] == hashed_key(PEOPLE[0][4]) and len(rows[0][4]) == 32
    assert rows[0][5] == 80  # not tagged: as built
    assert rows[0][6] == hashed_key("wang.wei@example.com") and rows[1][7] is None
    assert ("people", "email", "email") in masked and ("segment_high_intent", "email", "email") in masked
    assert result["masked"] is True and result["masked_columns"]["people"]["full_name"] == "name"


def test_the_parquet_files_are_masked_too(published):
    target, _ = published
    people = pq.read_table(target / "parquet" / "current" / "people.parquet").to_pylist()
    assert [p["email"] for p in people] == ["w***@example.com", "a***@lovelace.org"]
    flat = json.dumps(people, ensure_ascii=False, default=str)
    for person in PEOPLE:
        for value in person[1:5]:
            assert value is None or value not in flat


def test_hashed_keys_join_masked_tables(published):
    target, _ = published
    con = serving.connect(target)
    try:
        joined = con.execute(
            "select count(*) from marts.people as p "
            "inner join marts.segment_high_intent as s on p.email_key = s.email_key"
        ).fetchone()[0]
    finally:
        con.close()
    assert joined == 2


def test_masking_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("INTENT_SERVING_MASK", "0")
    build(tmp_path / "build.duckdb")
    pii = serving_mask.pii_columns(manifest(tmp_path / "manifest.json"))
    serving.publish(tmp_path / "build.duckdb", tmp_path / "serving", pii=pii)
    con = serving.connect(tmp_path / "serving")
    try:
        assert con.execute("select email from marts.people order by 1").fetchall()[0][0] == "ada@lovelace.org"
    finally:
        con.close()


def test_the_salt_changes_the_keys(tmp_path, monkeypatch):
    build(tmp_path / "build.duckdb")
    pii = serving_mask.pii_columns(manifest(tmp_path / "manifest.json"))
    keys = []
    for salt in ("one", "two"):
        monkeypatch.setenv("INTENT_PII_SALT", salt)
        serving.publish(tmp_path / "build.duckdb", tmp_path / f"serving-{salt}", pii=pii)
        con = serving.connect(tmp_path / f"serving-{salt}")
        try:
            keys.append(con.execute("select email_key from marts.people order by person_id").fetchall())
        finally:
            con.close()
    assert keys[0] != keys[1]
