"""Benchmark: what cannot_link decisions cost, and that every one of them holds.

    python bench/identity_decisions.py [--people N] [--decisions K] [--seed S] [--keep DIR]

On bench/identity.py's synthetic identity graph of --people (default 100,000; same generator:
several records per person chained across devices, 1.5 % hub records) the same_record edges get
link_rule same_record and confidence 1. For --decisions (default 100) synthetic people, drawn by a
hash of their number and --seed, cannot_link decisions are planted between their email and their
first browser, and between that browser and their phone when they have one (two decisions in one
component: the second round of the split handles it); the identifiers are joined by a chain of
records, sometimes by more than one path or through a hub. Timed through dbt, like
bench/identity.py's clustering (the macro's own execution time from run_results.json; the dbt
process wall time next to it):

* cc_seconds: `dbt run-operation connected_components_table` on the edges (one clustering: what a
  build without cannot_link decisions costs);
* split_seconds: `dbt run-operation identity_cannot_link_cuts_table` (macro identity_cannot_link_cuts,
  what int_identity_decision_cuts runs): rounds of clustering and a breadth-first split per round.

Checked with scipy on the edges minus the cut links: violated_after (decisions whose two identifiers
are still in one component) must be 0; cut_links and people_split (components of the original
graph that the cuts broke) say how much the decisions changed. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))

from identity import synthetic_graph  # noqa: E402
from identity_matching import run_dbt, run_results  # noqa: E402


def plant(warehouse: Path, decisions: int, seed: int) -> None:
    """bench.links (the edges with a rule and a confidence) and bench.decisions (cannot_link pairs)."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "create or replace table bench.links as"
            " select node_a, node_b, 'same_record' as link_rule, cast(1.0 as double) as confidence from bench.edges"
        )
        # per person drawn: cannot_link its email (slot 0) and its first browser (slot 1), and that browser
        # and its phone (slot 2) when it has one: two decisions in one component, split in two rounds
        con.execute(
            f"""
            create or replace table bench.decisions as
            with nodes as (
                select node_a as node_key from bench.edges union select node_b from bench.edges
            ),
            people as (
                select cast(regexp_extract(node_key, 'wei[.]zhang([0-9]+)@', 1) as bigint) as person, node_key as email
                from nodes
                where node_key like 'email:wei.zhang%'
            ),
            picked as (
                select * from people order by md5(cast(person as varchar) || '-{seed}') limit {decisions}
            ),
            browsers as (
                select picked.*,
                    'web:' || cast(1000000000 + 2 * person as varchar) || '.'
                        || cast(1780000000 + person % 9999991 as varchar) as browser,
                    'phone:+861' || lpad(cast(person as varchar), 10, '0') as phone
                from picked
            )
            select 'BENCH-' || cast(person as varchar) || '-a' as decision_id, 'cannot_link' as decision_kind,
                email as node_a, browser as node_b
            from browsers
            where browser in (select node_key from nodes)
            union all
            select 'BENCH-' || cast(person as varchar) || '-b', 'cannot_link', browser, phone
            from browsers
            where browser in (select node_key from nodes) and phone in (select node_key from nodes)
            """
        )
    finally:
        con.close()


def check(warehouse: Path) -> dict:
    """Components of the graph before and after the cuts (scipy), and the decisions still violated."""
    import duckdb
    import numpy as np
    import pandas as pd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        edges = con.execute("select node_a, node_b from bench.links").df()
        cuts = con.execute("select node_a, node_b from bench.decision_cuts").df()
        decisions = con.execute("select node_a, node_b from bench.decisions").df()
    finally:
        con.close()
    codes, uniques = pd.factorize(pd.concat([edges.node_a, edges.node_b], ignore_index=True))
    index = pd.Index(uniques)
    m, n = len(edges), len(uniques)

    def labels(keep: np.ndarray) -> np.ndarray:
        src, dst = codes[:m][keep], codes[m:][keep]
        matrix = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n)).tocsr()
        return connected_components(matrix, directed=False)[1]

    cut_keys = set(zip(cuts.node_a, cuts.node_b, strict=True))
    keep = np.array([pair not in cut_keys for pair in zip(edges.node_a, edges.node_b, strict=True)])
    before, after = labels(np.ones(m, dtype=bool)), labels(keep)
    a, b = index.get_indexer(decisions.node_a), index.get_indexer(decisions.node_b)
    violated_before = int((before[a] == before[b]).sum())
    violated_after = int((after[a] == after[b]).sum())
    broken = pd.DataFrame({"before": before, "after": after}).groupby("before")["after"].nunique()
    return {
        "decisions": len(decisions),
        "violated_before": violated_before,
        "violated_after": violated_after,
        "cut_links": len(cuts),
        "people_split": int((broken > 1).sum()),
        "components_before": int(len(np.unique(before))),
        "components_after": int(len(np.unique(after))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=100, help="people with cannot_link decisions")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-decisions-") as scratch:
        base = args.keep or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        warehouse = base / "decisions.duckdb"
        started = time.perf_counter()
        graph = synthetic_graph(warehouse, args.people, args.seed)
        plant(warehouse, args.decisions, args.seed)
        graph["generate_seconds"] = round(time.perf_counter() - started, 1)
        print(f"graph: {graph['identifiers']} identifiers, {graph['edges']} edges", file=sys.stderr)

        done, cc_wall = run_dbt(
            base,
            "run-operation",
            "connected_components_table",
            "--args",
            json.dumps({"edges": "bench.links", "target_table": "bench.components"}),
            warehouse=warehouse,
        )
        cc_seconds = sum(r["execution_time"] for r in run_results(base))
        print(f"one clustering: {cc_seconds:.2f} s", file=sys.stderr)
        arguments = {"edges": "bench.links", "decisions": "bench.decisions", "target_table": "bench.decision_cuts"}
        done, split_wall = run_dbt(
            base,
            "run-operation",
            "identity_cannot_link_cuts_table",
            "--args",
            json.dumps(arguments),
            warehouse=warehouse,
        )
        split_seconds = sum(r["execution_time"] for r in run_results(base))
        rounds = len(re.findall(r"connected_components: converged", done.stdout))
        print(f"cannot_link split: {split_seconds:.2f} s ({rounds} clusterings)", file=sys.stderr)
        figures = check(warehouse)

    result = {
        "people": args.people,
        "identifiers": graph["identifiers"],
        "edges": graph["edges"],
        **figures,
        "cc_seconds": round(cc_seconds, 2),
        "split_seconds": round(split_seconds, 2),
        "split_clusterings": rounds,
        "split_over_cc": round(split_seconds / cc_seconds, 2) if cc_seconds else None,
        "cc_dbt_wall_seconds": round(cc_wall, 1),
        "split_dbt_wall_seconds": round(split_wall, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
