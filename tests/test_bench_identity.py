"""bench/identity.py: its scoring helpers on toy data, and (slow) a small run of its parts."""

from __future__ import annotations

import pytest

from tests.benches import load_bench

bench = load_bench("identity")


def test_canonical_email_follows_the_graph_rules():
    assert bench.canonical_email("j.o.h.n+news@googlemail.com") == "john@gmail.com"
    assert bench.canonical_email("john+news@outlook.com") == "john@outlook.com"
    assert bench.canonical_email("j.ohn+x@qq.com") == "j.ohn+x@qq.com"


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


@pytest.mark.slow
def test_sql_clustering_gives_the_scipy_partition(tmp_path):
    speed = bench.cluster_speed(tmp_path, people=3000, seed=7)
    assert speed["sql"]["same_partition"], speed
    assert speed["networkx"]["same_partition"], speed
    assert speed["sql"]["rounds"] <= 8


@pytest.mark.slow
def test_clean_workload_loses_no_linkable_recall(tmp_path):
    result = bench.accuracy(tmp_path, "clean", people=300, seed=3)
    ours = result["ours"]
    assert ours["precision"] == 1.0 and ours["overmerged_people"] == 0, ours
    assert ours["recall_linkable"] >= result["plain_cc"]["recall_linkable"] - 0.005, result
