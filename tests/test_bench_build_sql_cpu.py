"""bench/build_sql_cpu.py on a hand-made target folder: each node's compiled SQL is found where dbt writes it
(a model, a generic data test under its YAML file, a singular test), run on the warehouse, and a node whose SQL
fails there is listed, not counted."""

from __future__ import annotations

import json
import sys

import duckdb

from tests.benches import load_bench

bench = load_bench("build_sql_cpu")


def _node(unique_id: str, original: str, path: str) -> dict:
    return {
        "package_name": "pkg",
        "resource_type": unique_id.split(".")[0],
        "original_file_path": original,
        "path": path,
    }


def _target(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table t as select * from range(1, 4) as r(x)")
    nodes = {
        "model.pkg.doubled": ("models/doubled.sql", "doubled.sql", "select x * 2 as y from warehouse.main.t"),
        "model.pkg.broken": ("models/broken.sql", "broken.sql", "select * from warehouse.main.gone"),
        "test.pkg.not_null_t_x.abc": ("models/_t.yml", "not_null_t_x.sql", "select * from warehouse.main.t where x<0"),
        "test.pkg.single": ("tests/single.sql", "single.sql", "select * from warehouse.main.t where x > 2"),
    }  # fmt: skip
    target = tmp_path / "target"
    for unique_id, (original, path, sql) in nodes.items():
        file = target / "compiled" / "pkg" / original
        if unique_id.startswith("test.") and original.endswith(".yml"):
            file = file / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(sql, encoding="utf-8")
    manifest = {"nodes": {uid: _node(uid, original, path) for uid, (original, path, _) in nodes.items()}}
    results = [{"unique_id": uid, "status": "success", "execution_time": 1.5} for uid in nodes]
    results.append({"unique_id": "model.pkg.skipped", "status": "skipped", "execution_time": 0.0})
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (target / "run_results.json").write_text(json.dumps({"results": results}), encoding="utf-8")
    return target, warehouse


def _run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["build_sql_cpu.py", *map(str, args)])
    bench.main()
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_every_node_is_found_run_and_a_failing_one_listed(tmp_path, monkeypatch, capsys):
    target, warehouse = _target(tmp_path)
    out = _run(monkeypatch, capsys, target, warehouse)

    assert out["missing"] == []
    assert [line.split(":")[0] for line in out["failed"]] == ["model.pkg.broken"]
    assert "gone" in out["failed"][0]
    assert set(out["nodes"]["model"]) == {"doubled"}
    assert set(out["nodes"]["test"]) == {"not_null_t_x.abc", "single"}
    assert out["model"]["nodes"] == 1 and out["test"]["nodes"] == 2
    assert out["model"]["dbt_node_seconds"] == 1.5 and out["test"]["dbt_node_seconds"] == 3.0


def test_write_puts_the_models_in_a_copy_and_leaves_the_warehouse_alone(tmp_path, monkeypatch, capsys):
    target, warehouse = _target(tmp_path)
    before = warehouse.read_bytes()
    out = _run(monkeypatch, capsys, target, warehouse, "--write", tmp_path / "copy")
    assert out["written"] is True and out["written_tables"] == 1
    assert out["checkpoint_cpu_seconds"] >= 0
    assert set(out["nodes"]["model"]) == {"doubled"} and out["failed"][0].startswith("model.pkg.broken")
    assert warehouse.read_bytes() == before
    assert list((tmp_path / "copy").iterdir()) == []
