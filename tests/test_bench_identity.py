"""bench/identity.py: its scoring helpers on toy data, and (slow) a small run of its parts; the one
canonical-email function (intent_pipeline.identity) against the SQL macro it mirrors."""

from __future__ import annotations

import types
from pathlib import Path

import duckdb
import jinja2
import pytest
from intent_pipeline import identity

from tests.benches import load_bench
from tests.dbt.conftest import shares_the_parse

bench = load_bench("identity")
ROOT = Path(__file__).resolve().parents[1]

# Each rule of the macro, each provider it names, and what it must leave alone.
TRICKY_ADDRESSES = [
    "lina@gmail.com",
    "li.na@gmail.com",
    "l.i.n.a+news@gmail.com",
    "li.na+news+more@googlemail.com",
    "lina+@gmail.com",
    "+tag@gmail.com",
    ".lina.@gmail.com",
    "@gmail.com",
    "Li.Na+News@Gmail.com",  # the macro expects lower case (the extract lowers): left as typed
    "LI.NA@GMAIL.COM",
    " li.na@gmail.com",  # nor does it trim
    "li.na@gmail.com ",
    "li.na@gmail.com.",
    "li.na@gmail.co",
    "li.na@gmial.com",
    "li.na@mail.gmail.com",
    "a@b@gmail.com",  # the domain is the text between the first and the second @
    "a@gmail.com@example.com",
    "j.ohn+x@outlook.com",
    "john+x@hotmail.com",
    "john+x+y@live.com",
    "jo.hn+x@icloud.com",
    "john+x@me.com",
    "john+x@proton.me",
    "john+x@protonmail.com",
    "john+x@fastmail.com",
    "john+x@outlook.com.cn",
    "john+x@yahoo.com",
    "li.na+x@qq.com",
    "123456789@qq.com",
    "li.na+x@163.com",
    "li.na+x@example-saas.com",
    "zhang.wei@公司.cn",
    "张.伟+x@gmail.com",
    "lí.na+x@gmail.com",
    "ｌｉ.ｎａ@ｇｍａｉｌ.ｃｏｍ",  # full-width letters: another domain as far as the macro knows
    "li.na＠gmail.com",  # full-width at sign: no domain at all
    "li.na@gmail.com\t",
    "",
    "not-an-email",
    "john@",
    "@",
    "@@",
    None,
]


def _macro_sql(column: str) -> str:
    """Macro canonical_email rendered for DuckDB: identity.sql with dbt-duckdb's own split_part."""
    env = jinja2.Environment()
    adapter_macros = Path(jinja2.__file__).parents[1] / "dbt" / "include" / "duckdb" / "macros" / "utils"
    split_part = env.from_string((adapter_macros / "splitpart.sql").read_text()).module.duckdb__split_part
    macros = env.from_string(
        (ROOT / "dbt_project" / "macros" / "identity.sql").read_text(),
        globals={"dbt": types.SimpleNamespace(split_part=split_part)},
    ).module
    return str(macros.canonical_email(column))


def test_canonical_email_gives_the_sql_macros_answer_for_every_tricky_address():
    sql = _macro_sql("address")
    con = duckdb.connect()
    con.execute("create table addresses (n integer, address varchar)")
    con.executemany("insert into addresses values (?, ?)", list(enumerate(TRICKY_ADDRESSES)))
    in_sql = dict(con.execute(f"select n, {sql} from addresses").fetchall())
    in_python = {n: identity.canonical_email(a) for n, a in enumerate(TRICKY_ADDRESSES)}
    differences = {TRICKY_ADDRESSES[n]: (in_sql[n], in_python[n]) for n in in_sql if in_sql[n] != in_python[n]}
    assert not differences, f"address: (SQL macro, Python) {differences}"
    # The list reaches every rule: Gmail's, the +tag providers' and the addresses left alone.
    assert in_python[TRICKY_ADDRESSES.index("li.na+news+more@googlemail.com")] == "lina@gmail.com"
    assert in_python[TRICKY_ADDRESSES.index("jo.hn+x@icloud.com")] == "jo.hn@icloud.com"
    assert in_python[TRICKY_ADDRESSES.index("li.na+x@qq.com")] == "li.na+x@qq.com"


def test_the_benchmark_keys_emails_with_the_one_canonical_email():
    assert bench.canonical_email is identity.canonical_email
    assert bench.canonical_email("j.o.h.n+news@googlemail.com") == "john@gmail.com"


def test_accuracy_figures_count_overmerges_splits_and_linkable_pairs():
    nodes = {k: {"owners": {p}, "hub_kinds": set(), "typo": False} for k, p in
             [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("c1", "C"), ("c2", "C")]}  # fmt: skip
    nodes["hub"] = {"owners": {"A", "B"}, "hub_kinds": {"shared_phone"}, "typo": False}
    labels = {k: next(iter(n["owners"])) for k, n in nodes.items() if len(n["owners"]) == 1}
    # A and B merged through the hub, C split in two; a3 has no exact link to a1/a2 at all
    predicted = {"a1": "x", "a2": "x", "hub": "x", "b1": "x", "a3": "y", "c1": "z", "c2": "w"}
    oracle = {"a1": "o1", "a2": "o1", "a3": "o2", "b1": "o3", "c1": "o4", "c2": "o4"}
    figures = bench.accuracy_figures(predicted, nodes, labels, oracle)
    assert figures["hub_nodes_excluded"] == 1
    assert figures["overmerged_people"] == 2 and figures["overmerged_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["split_people"] == 2  # A (a3 apart) and C
    assert figures["largest_cluster_true_people"] == 2
    # true pairs: A 3, C 1; found: a1-a2 -> recall 1/4; predicted pairs in x: a1-a2, a1-b1, a2-b1 -> precision 1/3
    assert (figures["precision"], figures["recall"]) == (pytest.approx(0.3333, abs=1e-4), 0.25)
    # linkable pairs: a1-a2 and c1-c2; only a1-a2 found
    assert figures["linkable_pairs"] == 2 and figures["recall_linkable"] == 0.5
    assert figures["unlinkable_pairs"] == 2 and figures["unlinkable_pairs_found"] == 0


def test_union_find_and_partition_hash_ignore_labels():
    components = bench.union_find([["a", "b"], ["c"], ["b", "d"]])
    assert components == {"a": "a", "b": "a", "c": "c", "d": "a"}
    assert bench.partition_hash([5, 5, 7, 5]) == bench.partition_hash([0, 0, 1, 0])
    assert bench.partition_hash([5, 5, 7, 5])[1] != bench.partition_hash([5, 7, 7, 5])[1]


@pytest.fixture
def without_unit_tests(monkeypatch, tmp_path_factory):
    """The bench's builds without dbt's unit tests (dbt reads ``--exclude-resource-type`` from this
    variable): they check the SQL, the same in every build, and the session's warehouse build
    (tests/dbt/conftest.py) runs them all; these tests check the workloads' figures. Each workload's
    home is new: its dbt starts from the test run's parse (tests.dbt.conftest.shares_the_parse)."""
    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
    shares_the_parse(tmp_path_factory, monkeypatch)


@pytest.mark.slow
def test_sql_clustering_gives_the_scipy_partition(tmp_path, tmp_path_factory, monkeypatch):
    shares_the_parse(tmp_path_factory, monkeypatch)
    speed = bench.cluster_speed(tmp_path, people=3000, seed=7)
    assert speed["sql"]["same_partition"], speed
    assert speed["networkx"]["same_partition"], speed
    assert speed["sql"]["rounds"] <= 8


@pytest.mark.slow
def test_clean_workload_loses_no_linkable_recall(tmp_path, without_unit_tests):
    result = bench.accuracy(tmp_path, "clean", people=300, seed=3)
    ours = result["ours"]
    assert ours["precision"] == 1.0 and ours["overmerged_people"] == 0, ours
    assert ours["recall_linkable"] >= result["plain_cc"]["recall_linkable"] - 0.005, result


@pytest.mark.slow
def test_the_gate_flags_every_glued_person_and_stops_the_run(tmp_path, without_unit_tests):
    """Issue 12: same-name colleagues glued by one planted form in a real build of the polluted
    workload; marts.people counts their contradicting identifiers and the marts gate fails."""
    bench.accuracy(tmp_path, "polluted", people=600, seed=3)
    glued = bench.glued_people(tmp_path, pairs=20)
    assert glued["planted_pairs"] >= 2, glued
    assert glued["glued_people"] >= glued["planted_pairs"] - 1, glued  # the planted form glues (nearly) each pair
    assert glued["glued_people_detected"] == 1.0, glued
    assert glued["gate_unexpected_count"] >= glued["glued_people"], glued
    # the gate stops the run exactly when more than the configured 0.5 % of people are flagged
    assert glued["gate_failed"] == (glued["gate_unexpected_count"] / glued["people"] > 0.005), glued
