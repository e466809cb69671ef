"""Probabilistic identity matching (the pipeline's matcher: dbt_project/macros/configured_match.sql) on labelled data.

    python bench/identity_matching.py [--csv PATH | --synth PEOPLE] [--thresholds 0.5,0.9,...] [--also-estimated]
    python bench/identity_matching.py --estimate [--csv PATH | --synth PEOPLE] [--only-m C,..] [--only-u C,..]

The default data is Splink's test set `splink_fake_1000.csv` (MIT; 1,000 person records of 181
true people with typos, swapped names, missing values), read in place from ../shared/testdata/
next to the repository, never copied into it. Its columns map onto the record columns of
the pipeline's matcher as first_name, last_name = surname, dob, city, email (no full_name,
phone, company). It is loaded into a DuckDB file in a temporary directory, the seeds are loaded
with `dbt seed` (INTENT_WAREHOUSE pointing at that file), and `dbt run-operation
identity_match_table` writes every compared pair: the SQL int_identity_match_pairs runs, before
its threshold. `--synth PEOPLE` uses the project's own records instead: a synth workload,
extracted and built up to int_identity_records, labelled by the generator's (full name,
company), which it never varies; so on it recall is flattering and precision is what counts.

Evaluation (default): for each threshold, pairwise precision / recall / F1 against the labels, on
the pairs themselves and after clustering them (connected components), next to the exact-email
baseline; how many pairs blocking compared and how many true pairs it reached; seconds. With
--also-estimated, the same again with m, u and the prior estimated on the evaluated data itself
(how Splink is used). The last line of output is one JSON object.

Estimation (--estimate): m and the share of matches among the blocked pairs by expectation
maximisation over their gamma patterns (two-class Fellegi-Sunter mixture, m and u both free: the
non-matches blocking brings together agree far more than random pairs, so u fixed at its random
value makes EM call every blocked pair a match); the prior follows as matches per record. u from
random pairs (every pair among 1,000 random records, compared with the same SQL), each weighted
by its posterior probability of being a non-match, since the few true matches among random pairs
would otherwise inflate u of the agreeing levels. No label is read. m is floored at 0.01, u at
1e-5. Prints the seed file and matches_per_record for identity_match_settings. The estimate is
`python -m intent_pipeline identity-estimate`'s (intent_pipeline.identity_estimate), which also
writes the seeds and prints the diff.

How the committed seeds were derived (each command's CSV written over the seed before the next):
  1. --estimate --only-m first_name,last_name,dob,email,city --only-u dob
     m from splink_fake_1000 (the only data with realistic typos, swaps and gaps in names, dates,
     emails, cities); u of dob there too (the warehouse has no dates of birth).
  2. --estimate --synth 3000 --only-m phone,company --only-u first_name,last_name,email,phone,company,city
     u from the warehouse's own population (Chinese surnames collide far more than English ones,
     "city" is the CRM region); m of phone and company from there too, the only data that has
     them, but synth never varies a person's phone or company, so EM finds m(different) = 0 and
     the floor (0.01) decides it: a judgement, not a measurement. matches_per_record = 1.4776
     from this run (the synth truth has 1.52; splink_fake_1000 would say 5.5, its truth 5.95).
  3. (issue 12's email levels, carried over by hand until then) `python -m intent_pipeline
     identity-estimate`: m of email from splink_fake_1000 (step 1's command), u of email from the
     default sample's records (`--warehouse W --only-u email --only-m none`, synth 3000);
     docs/identity.md, "Re-estimating m/u and the prior".

Measured (2 shared cores, committed seeds; pairs / after clustering, P R F1):
  splink_fake_1000, 4,237 of 499,500 pairs compared (blocking reaches 94.9 % of the 2,975 true
  pairs), the macro's SQL 0.2 s, the dbt process 2.4 s, all with loading and seeding about 7 s:
    exact-email baseline      1.000 0.539 0.700 / 1.000 0.539 0.700
    0.5                       0.999 0.926 0.961 / 0.987 0.985 0.986
    0.8                       1.000 0.913 0.954 / 0.990 0.976 0.983
    0.9                       1.000 0.897 0.946 / 1.000 0.969 0.985
    0.95 (default)            1.000 0.882 0.938 / 1.000 0.969 0.985
    0.99                      1.000 0.827 0.905 / 1.000 0.945 0.972
    0.999                     1.000 0.773 0.872 / 1.000 0.902 0.949
  with m/u/prior estimated on the file itself, at 0.95: 1.000 0.920 0.958 / 0.990 0.985 0.987.
  synth, 3,000 people (2,596 records, 10,564 pairs compared, SQL 0.2 s), after clustering: exact
  email 0.997 0.767 0.867; 0.5: precision 0.982; 0.8 to 0.99: 0.998 1.000 0.999; 0.999: recall
  0.955. The 4 "wrong" pairs left share one email address: records the labels cannot place (two
  synth people with the same name and company). Colleagues with the same given name reach 0.74.
  synth, 10,000 people (8,425 records, 90,002 pairs compared, SQL 0.4 s): exact email 0.995
  0.763 0.864; 0.8 to 0.95: 0.992 1.000 0.996; 0.99: 0.993 0.976 0.985. Left above 0.95: people
  sharing an office phone, whom the identity graph links by that phone anyway.
Threshold 0.95: on both data sets 0.9 and 0.95 give the same result and the first wrong merge
appears at 0.8 (splink) or 0.5 (synth); 0.99 costs 2.4 points of recall on splink. 0.95 keeps a
margin above the first wrong merge for nothing.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
DBT_PROJECT = ROOT / "dbt_project"
INTERVAL = "2026-11-21"
SPLINK_CSV = ROOT.parent / "shared" / "testdata" / "splink_fake_1000.csv"
COMPARISONS = ["first_name", "last_name", "dob", "email", "phone", "company", "city"]
INTERFACE = [
    "record_id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "company",
    "city",
    "dob",
    "national_id",
]
SEEDS = [
    "identity_match_comparisons",
    "identity_match_settings",
    "identity_match_free_email_domains",
    "identity_match_pinyin",
    "identity_blocklist",
]
DEFAULT_THRESHOLD = 0.95  # var identity_match_threshold's default in int_identity_match_pairs
THRESHOLDS = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]
RECORDS_TABLE = "main.match_records"
PAIRS_TABLE = "main.match_pairs"
RANDOM_TABLE = "main.match_random_pairs"


# -- the warehouse and dbt ---------------------------------------------------------------------------


def load_records(warehouse: Path, csv_path: Path) -> dict[str, str]:
    """Load a labelled CSV into RECORDS_TABLE in the interface columns; return record_id -> true cluster.

    Splink's columns (unique_id, first_name, surname, dob, city, email, cluster) are mapped; a CSV
    that already has interface columns (and `cluster`) is loaded as it is, missing columns null.
    """
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "create or replace temp table raw as select * from read_csv(?, all_varchar = true)", [str(csv_path)]
        )
        present = {row[0] for row in con.execute("describe raw").fetchall()}
        renames = {"record_id": "unique_id", "last_name": "surname"}
        columns = []
        for column in INTERFACE:
            found = column if column in present else renames.get(column)
            columns.append(f"{found} as {column}" if found in present else f"cast(null as varchar) as {column}")
        cluster = "cluster" if "cluster" in present else "cast(null as varchar) as cluster"
        con.execute(f"create or replace table {RECORDS_TABLE} as select {', '.join(columns)}, {cluster} from raw")
        # an unlabelled record is a person of its own
        con.execute(f"update {RECORDS_TABLE} set cluster = 'unlabelled:' || record_id where cluster is null")
        return dict(con.execute(f"select record_id, cluster from {RECORDS_TABLE}").fetchall())
    finally:
        con.close()


def bench_settings(base: Path, warehouse: Path | None = None):
    """Pipeline settings for a benchmark folder: the warehouse (``base/warehouse.duckdb`` unless
    given), dbt's target and logs under ``base`` (intent_pipeline.identity_estimate.scratch_settings)."""
    from intent_pipeline.identity_estimate import scratch_settings

    return scratch_settings(base, warehouse)


def run_dbt(
    base: Path, *args: str, warehouse: Path | None = None, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    """Run the dbt CLI (the pipeline's command line and environment, ``extra_env`` on top) on the
    warehouse under ``base``; return the finished process and its wall seconds. Its
    run_results.json: ``run_results(base)``."""
    from intent_pipeline import pipeline

    settings = bench_settings(base, warehouse)
    # seeds and operations ignore the interval; the environment always carries it
    start, end = pipeline.interval_dates(datetime.fromisoformat(INTERVAL).date())
    started = time.perf_counter()
    # a new folder per run: dbt starts from the parse of the previous scratch run (pipeline.run_dbt)
    from intent_pipeline.settings import Settings

    cache = pipeline.scratch_parse_cache(Settings.from_env())
    done = pipeline.run_dbt(settings, *args, interval=(start, end), parse_cache=cache, extra_env=extra_env)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return done, time.perf_counter() - started


def run_results(base: Path) -> list[dict]:
    return json.loads((base / "dbt" / "target" / "run_results.json").read_text())["results"]


def match_table(base: Path, target: str, sample_records: int | None = None) -> tuple[float, float]:
    """`dbt run-operation identity_match_table` from RECORDS_TABLE into ``target``; return the wall
    seconds of the dbt process and the seconds of the macro itself (its SQL)."""
    arguments = {"source": RECORDS_TABLE, "target": target}
    if sample_records:
        arguments["sample_records"] = sample_records
    _, wall = run_dbt(base, "run-operation", "identity_match_table", "--args", json.dumps(arguments))
    return wall, sum(result["execution_time"] for result in run_results(base))


def prepare(csv_path: Path, base: Path, seeded: Path | None = None) -> dict[str, str]:
    """A DuckDB file under ``base`` holding the records and the matching seeds; return the truth.
    ``seeded``: a DuckDB file that already holds the seeds (loaded by `dbt seed` from the same
    files), copied instead of seeding again (the tests load them once per run)."""
    if seeded is not None:
        shutil.copyfile(seeded, base / "warehouse.duckdb")
    truth = load_records(base / "warehouse.duckdb", csv_path)
    if seeded is None:
        run_dbt(base, "seed", "--select", *SEEDS)
    return truth


def install_parameters(warehouse: Path, estimated: dict) -> None:
    """Replace the loaded seeds' m/u and matches_per_record with ``estimated`` (evaluation of a fresh estimate)."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        for row in seed_rows(estimated):
            con.execute(
                "update staging.identity_match_comparisons set m_probability = ?, u_probability = ?"
                " where comparison = ? and level = ?",
                [float(row["m_probability"]), float(row["u_probability"]), row["comparison"], int(row["level"])],
            )
        con.execute(
            "update staging.identity_match_settings set value = ? where setting = 'matches_per_record'",
            [estimated["matches_per_record"]],
        )
    finally:
        con.close()


def query(warehouse: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- metrics ------------------------------------------------------------------------------------------


def clusters_of(ids: list[str], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Connected components (union-find): record_id -> the smallest record_id of its component."""
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in ids}


def _within(sizes) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def scores(true_positives: int, predicted: int, actual: int) -> dict:
    precision = true_positives / predicted if predicted else 1.0
    recall = true_positives / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "predicted_pairs": predicted,
        "true_positive_pairs": true_positives,
    }


def clustered_scores(predicted: dict[str, str], truth: dict[str, str]) -> dict:
    """Pairwise precision / recall / F1 of a clustering against the true clusters."""
    both = Counter((predicted[i], truth[i]) for i in truth)
    return scores(
        _within(both.values()), _within(Counter(predicted.values()).values()), _within(Counter(truth.values()).values())
    )


def pair_scores(pairs: list[tuple[str, str]], truth: dict[str, str]) -> dict:
    """Pairwise precision / recall / F1 of a set of pairs (not closed transitively)."""
    hits = sum(truth[a] == truth[b] for a, b in pairs)
    return scores(hits, len(pairs), _within(Counter(truth.values()).values()))


# -- evaluation ---------------------------------------------------------------------------------------


def evaluate(
    csv_path: Path = SPLINK_CSV,
    thresholds: list[float] = THRESHOLDS,
    estimated: dict | None = None,
    seeded: Path | None = None,
) -> dict:
    """Run the pipeline's matching SQL on ``csv_path`` and score it per threshold (see module docstring).

    The parameters are the committed seeds, or ``estimated`` (a result of ``estimate``) instead;
    ``seeded`` as for :func:`prepare`."""
    base = Path(tempfile.mkdtemp(prefix="intent-identity-matching-"))
    try:
        started = time.perf_counter()
        truth = prepare(csv_path, base, seeded)
        if estimated is not None:
            install_parameters(base / "warehouse.duckdb", estimated)
        dbt_seconds, sql_seconds = match_table(base, PAIRS_TABLE)
        warehouse = base / "warehouse.duckdb"
        rows = query(warehouse, f"select record_id_l, record_id_r, match_probability, matched_by from {PAIRS_TABLE}")
        emails = query(warehouse, f"select record_id, email from {RECORDS_TABLE} where email is not null")
        total_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(base, ignore_errors=True)

    ids = sorted(truth)
    by_email: dict[str, list[str]] = {}
    for record_id, email in emails:
        by_email.setdefault(email, []).append(record_id)
    email_pairs = [pair for group in by_email.values() for pair in itertools.combinations(sorted(group), 2)]
    email_clusters = clusters_of(ids, email_pairs)
    compared = [(a, b) for a, b, _, _ in rows]
    result = {
        "benchmark": "identity_matching",
        "data": csv_path.name,
        "parameters": "committed seeds" if estimated is None else f"estimated on {estimated['data']}",
        "records": len(ids),
        "true_people": len(set(truth.values())),
        "true_pairs": _within(Counter(truth.values()).values()),
        "compared_pairs": len(rows),
        "compared_pairs_by_rule": dict(sorted(Counter(rule for *_, rule in rows).items())),
        "blocking_recall": pair_scores(compared, truth)["recall"],
        "default_threshold": DEFAULT_THRESHOLD,
        "exact_email_baseline": {
            "pairs": pair_scores(email_pairs, truth),
            "clustered": clustered_scores(email_clusters, truth),
        },
        "thresholds": {},
        "match_sql_seconds": round(sql_seconds, 2),
        "match_dbt_seconds": round(dbt_seconds, 2),
        "total_seconds": round(total_seconds, 2),
    }
    for threshold in thresholds:
        kept = [(a, b) for a, b, probability, _ in rows if probability >= threshold]
        result["thresholds"][str(threshold)] = {
            "pairs": pair_scores(kept, truth),
            "clustered": clustered_scores(clusters_of(ids, kept), truth),
        }
    return result


# -- estimation ---------------------------------------------------------------------------------------


def read_levels() -> dict[str, list[int]]:
    """The levels of each comparison, from the committed seed (its labels say what they are)."""
    from intent_pipeline import identity_estimate

    levels = identity_estimate.read_levels()
    return {c: levels[c] for c in COMPARISONS}


def estimate(csv_path: Path = SPLINK_CSV, sample_records: int = 1000, seeded: Path | None = None) -> dict:
    """Estimate m, u and matches_per_record on ``csv_path`` without its labels (see module docstring):
    `python -m intent_pipeline identity-estimate`'s estimate (intent_pipeline.identity_estimate);
    ``seeded`` as for :func:`prepare`."""
    from intent_pipeline import identity_estimate

    estimated = identity_estimate.estimate(
        csv_path,
        sample_records=sample_records,
        columns_from={"record_id": "unique_id", "last_name": "surname"},
        seeded=seeded,
    )
    return estimated | {"data": csv_path.name}


def seed_rows(
    estimated: dict | None = None, only_m: list[str] | None = None, only_u: list[str] | None = None
) -> list[dict]:
    """The committed seed identity_match_comparisons, its m (u) replaced by ``estimated`` for the
    comparisons in ``only_m`` (``only_u``); by default every comparison the estimate has data for."""
    with (DBT_PROJECT / "seeds" / "identity_match_comparisons.csv").open() as f:
        rows = list(csv.DictReader(f))
    for comparison in COMPARISONS:
        if estimated is None or estimated["m"][comparison] is None:
            continue
        levels = estimated["levels"][comparison]
        for kind, only in (("m", only_m), ("u", only_u)):
            if only is not None and comparison not in only:
                continue
            by_level = dict(zip(levels, estimated[kind][comparison], strict=True))
            for row in rows:
                if row["comparison"] == comparison:
                    row[f"{kind}_probability"] = f"{by_level[int(row['level'])]:g}"
    return rows


def seed_csv(estimated: dict, only_m: list[str] | None = None, only_u: list[str] | None = None) -> str:
    """The seed file: the committed rows, with the estimated m (u) of the comparisons in ``only_m`` (``only_u``)."""
    lines = ["comparison,level,label,m_probability,u_probability"]
    rows = seed_rows(estimated, only_m, only_u)
    for comparison in COMPARISONS:
        for row in sorted((r for r in rows if r["comparison"] == comparison), key=lambda r: -int(r["level"])):
            label = f'"{row["label"]}"' if "," in row["label"] else row["label"]
            lines.append(f"{comparison},{row['level']},{label},{row['m_probability']},{row['u_probability']}")
    return "\n".join(lines)


def synth_records(base: Path, people: int, seed: int = 42) -> Path:
    """The project's own records: a synth workload of ``people``, extracted into a raw lake, built with
    `dbt build --select +int_identity_records`; its records written to a CSV under ``base`` (no labels)."""
    os.environ["INTENT_HOME"] = str(base)
    for name in [k for k in os.environ if k.startswith("INTENT_") and k != "INTENT_HOME"]:
        del os.environ[name]
    from intent_pipeline import pipeline
    from intent_pipeline.settings import SOURCES, Settings
    from intent_pipeline.sources import extract_source

    settings = Settings.from_env()
    interval = INTERVAL
    subprocess.run(
        [
            sys.executable,
            "-m",
            "intent_pipeline.synth",
            "--people",
            str(people),
            "--seed",
            str(seed),
            "--date",
            interval,
            "--landing",
            settings.landing_url,
            "--truth",
            str(base / "truth"),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )
    start, end = pipeline.interval_dates(datetime.fromisoformat(interval).date())
    for source in SOURCES:
        extract_source(source, settings, start.date(), batch_id=f"bench/{source}", loaded_at=datetime.now(UTC))
    done = pipeline.run_dbt(settings, "build", "--select", "+int_identity_records", interval=(start, end),
                            parse_cache=pipeline.scratch_parse_cache(Settings.from_env()))  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-4000:]}")
    # labels: the generator never changes a person's name or company and (name, company) is unique
    # among its people, so they identify the person; the matcher never reads them
    path = base / "synth_records.csv"
    columns = ", ".join(f"records.{c}" for c in INTERFACE)
    people = base / "truth" / "people.csv"
    query(
        settings.warehouse,
        f"""
        copy (
            select {columns}, people.person_key as cluster
            from intermediate.int_identity_records as records
            left join (
                select full_name, company, min(person_key) as person_key
                from read_csv('{people}', all_varchar = true)
                group by full_name, company
                having count(*) = 1
            ) as people
                on people.full_name = records.full_name and people.company = records.company
        ) to '{path}' (header)
    """,
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=SPLINK_CSV, help="labelled records (default: %(default)s)")
    parser.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    parser.add_argument("--estimate", action="store_true", help="print EM-estimated m/u as the seed CSV")
    parser.add_argument(
        "--synth",
        type=int,
        metavar="PEOPLE",
        help="use the records of a synth workload of PEOPLE people instead of --csv",
    )
    parser.add_argument("--only-m", help="with --estimate: comparisons whose m to replace (default: all with data)")
    parser.add_argument("--only-u", help="with --estimate: comparisons whose u to replace (default: all with data)")
    parser.add_argument(
        "--also-estimated",
        action="store_true",
        help="also evaluate with m/u/prior estimated (EM, no labels) on the evaluation data itself",
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="intent-identity-synth-")) if args.synth else None
    try:
        data = synth_records(scratch, args.synth) if scratch else args.csv
        if args.estimate:
            estimated = estimate(data)
            print(seed_csv(estimated, *(value.split(",") if value else None for value in (args.only_m, args.only_u))))
            print(f"\nidentity_match_settings: matches_per_record,{estimated['matches_per_record']}\n")
            print(json.dumps(estimated))
            return
        thresholds = [float(t) for t in args.thresholds.split(",")]
        results = [evaluate(data, thresholds)]
        if args.also_estimated:
            results.append(evaluate(data, thresholds, estimated=estimate(data)))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    for result in results:
        print(f"{result['parameters']}:")
        for threshold, figures in result["thresholds"].items():
            pairs, clustered = figures["pairs"], figures["clustered"]
            print(
                f"  threshold {threshold}: pairs P {pairs['precision']} R {pairs['recall']} F1 {pairs['f1']}"
                f" | clustered P {clustered['precision']} R {clustered['recall']} F1 {clustered['f1']}"
            )
    print(json.dumps(results[0] if len(results) == 1 else {"committed": results[0], "estimated": results[1]}))


if __name__ == "__main__":
    main()
