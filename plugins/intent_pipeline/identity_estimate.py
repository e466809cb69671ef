"""Re-estimate the matcher's m/u and prior without labels, and write them into the seeds.

    python -m intent_pipeline identity-estimate [--records CSV [--columns record_id=unique_id,..]]
        [--only-m C,..] [--only-u C,..] [--keep-prior] [--dry-run]

The records are the warehouse's ``intermediate.int_identity_records`` (INTENT_WAREHOUSE, read only)
or a CSV in the matcher's record columns (record_id, first_name, last_name, full_name, email,
phone, company, city, dob, national_id; missing columns are null). They are copied into a DuckDB
file in a temporary folder with the seeds, and the pipeline's own matcher runs there
(``dbt run-operation identity_match_table``, the configuration of macro identity_match_config):
once over the blocked pairs, once over every pair of ``--sample-records`` random records.

* u: the random pairs' levels, each pair weighted by its posterior probability of being a
  non-match (the few true matches among random pairs would otherwise inflate u of the agreeing
  levels);
* m and the share of matches among the blocked pairs: expectation maximisation over the blocked
  pairs' level patterns (a two-class Fellegi-Sunter mixture with m and u both free: the non-matches
  blocking brings together agree far more than random pairs, so u fixed at its random value would
  make EM call every blocked pair a match);
* the prior: matches per record = 2 x matched pairs / records (seed identity_match_settings).

No label is read. m is floored at M_FLOOR, u at U_FLOOR. The levels are the seed's rows
(``dbt_project/seeds/identity_match_comparisons.csv``): a comparison of the configuration needs its
rows there (one per level >= 0) before it can be estimated. The seeds are written in place and
the change printed as a unified diff, for review (``git diff``) before it is committed;
``--only-m`` / ``--only-u`` keep the other comparisons' values (e.g. m from data that has typos,
u from the warehouse's own population, as bench/identity_matching.py's docstring describes).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = ROOT / "dbt_project" / "seeds"
COMPARISONS_SEED = "identity_match_comparisons"
SETTINGS_SEED = "identity_match_settings"
RECORD_COLUMNS = [
    "record_id", "first_name", "last_name", "full_name", "email", "phone", "company", "city", "dob", "national_id",
]  # fmt: skip
SEEDS = [
    COMPARISONS_SEED,
    SETTINGS_SEED,
    "identity_match_free_email_domains",
    "identity_match_pinyin",
    "identity_blocklist",
]
RECORDS_TABLE = "main.estimate_records"
BLOCKED_TABLE = "main.estimate_blocked_pairs"
RANDOM_TABLE = "main.estimate_random_pairs"
# No level is impossible for the same person: m is floored at 1 % (a single disagreement costs at
# most log2(0.01) = -6.6 bits and can be outweighed), u at 1e-5 (about five of 499,500 random pairs).
M_FLOOR = 0.01
U_FLOOR = 1e-5


# -- expectation maximisation (numpy only: testable without a warehouse) ---------------------------


def level_probabilities(gammas, weights, levels: dict[str, list[int]], floor: float) -> dict[str, Any]:
    """P(level) per comparison (columns of ``gammas`` in the order of ``levels``) from the rows
    weighted by ``weights``; a null level (-1) is left out; None for a comparison without data."""
    import numpy as np

    out: dict[str, Any] = {}
    for k, (comparison, values) in enumerate(levels.items()):
        column = gammas[:, k]
        present = column >= 0
        total = float(weights[present].sum())
        if total <= 0:
            out[comparison] = None
            continue
        shares = np.array([max(float(weights[column == level].sum()) / total, floor) for level in values])
        out[comparison] = shares / shares.sum()
    return out


def likelihoods(gammas, probabilities: dict[str, Any], levels: dict[str, list[int]]):
    """Product over comparisons of P(level); a null level or a comparison without data gives 1."""
    import numpy as np

    result = np.ones(len(gammas))
    for k, (comparison, values) in enumerate(levels.items()):
        if probabilities[comparison] is None:
            continue
        lookup = np.ones(max(values) + 2)  # index 0 is level -1 (null): no evidence
        lookup[np.array(values) + 1] = probabilities[comparison]
        result *= lookup[gammas[:, k] + 1]
    return result


def expectation_maximisation(
    blocked, u: dict[str, Any], levels: dict[str, list[int]], iterations: int = 1000, tolerance: float = 1e-9
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Fellegi-Sunter EM over the blocked pairs' level patterns: (m, u among them, share of matches)."""
    import numpy as np

    patterns, counts = np.unique(blocked, axis=0, return_counts=True)
    counts = counts.astype(float)
    # start: agreement likely among matches, the top level most of all
    m: dict[str, Any] = {}
    for comparison, values in levels.items():
        start = np.array([2.0**i for i in range(len(values))])
        m[comparison] = None if u[comparison] is None else start / start.sum()
    share = 0.3
    for _ in range(iterations):
        lm, lu = likelihoods(patterns, m, levels), likelihoods(patterns, u, levels)
        posterior = share * lm / (share * lm + (1 - share) * lu)
        new_share = float((counts * posterior).sum() / counts.sum())
        new_m = level_probabilities(patterns, counts * posterior, levels, U_FLOOR)
        new_u = level_probabilities(patterns, counts * (1 - posterior), levels, U_FLOOR)
        change = abs(new_share - share) + sum(
            float(np.abs(new_m[c] - m[c]).max() + np.abs(new_u[c] - u[c]).max()) for c in levels if m[c] is not None
        )
        m, u, share = new_m, new_u, new_share
        if change < tolerance:
            break
    return m, u, share


def estimate_parameters(
    blocked, randoms, levels: dict[str, list[int]], records: int, rounds: int = 3, possible_pairs: int | None = None
) -> dict:
    """m, u and matches per record from the blocked and the random pairs' levels (module docstring).
    ``possible_pairs``: the pairs a matcher could compare (default every pair of ``records``; in a
    link-only run the product of the two sources' sizes), the denominator of the prior that weighs
    the random pairs. Also used by bench/febrl.py."""
    import numpy as np

    u = level_probabilities(randoms, np.ones(len(randoms)), levels, U_FLOOR)
    m, _, share = expectation_maximisation(blocked, u, levels)
    matched_pairs = share * len(blocked)
    possible = possible_pairs if possible_pairs is not None else records * (records - 1) / 2
    prior = matched_pairs / max(possible, 1)
    for _ in range(rounds):
        lm, lu = likelihoods(randoms, m, levels), likelihoods(randoms, u, levels)
        non_match = (1 - prior) * lu / (prior * lm + (1 - prior) * lu)
        u = level_probabilities(randoms, non_match, levels, U_FLOOR)
    return {
        "records": records,
        "blocked_pairs": len(blocked),
        "random_pairs": len(randoms),
        "estimated_matching_pairs": round(matched_pairs, 1),
        "share_of_matches": share,  # among the blocked pairs, unrounded
        "matches_per_record": round(2 * matched_pairs / max(records, 1), 4),
        "m": {c: None if m[c] is None else rounded(floored([float(x) for x in m[c]], M_FLOOR)) for c in levels},
        "u": {c: None if u[c] is None else rounded([float(x) for x in u[c]]) for c in levels},
        "levels": levels,
    }


def floored(values: list[float], floor: float) -> list[float]:
    """Every value at least ``floor``, the excess taken from the largest so that they still sum to 1."""
    raised = [max(v, floor) for v in values]
    largest = max(range(len(raised)), key=raised.__getitem__)
    raised[largest] -= sum(raised) - 1
    return raised


def rounded(values: list[float], digits: int = 6) -> list[float]:
    """Rounded so that they still sum to 1 exactly enough for the seed's sums_to test."""
    out = [round(v, digits) for v in values]
    largest = max(range(len(out)), key=out.__getitem__)
    out[largest] = round(1 - sum(v for i, v in enumerate(out) if i != largest), digits)
    return out


# -- the seeds ---------------------------------------------------------------------------------------


def read_levels(seeds_dir: Path = SEEDS_DIR) -> dict[str, list[int]]:
    """Each comparison's levels (>= 0), in the seed's order of comparisons, ascending."""
    levels: dict[str, list[int]] = {}
    with (seeds_dir / f"{COMPARISONS_SEED}.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            levels.setdefault(row["comparison"], []).append(int(row["level"]))
    return {c: sorted(values) for c, values in levels.items()}


def comparisons_csv(estimated: dict, only_m: list[str] | None, only_u: list[str] | None, seeds_dir: Path) -> str:
    """The seed file with the estimated m (u) of the comparisons in ``only_m`` (``only_u``; default:
    every comparison the estimate has data for); the others and the labels as they are."""
    text = (seeds_dir / f"{COMPARISONS_SEED}.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    fields = list(reader.fieldnames or [])
    rows = list(reader)
    for row in rows:
        comparison, level = row["comparison"], int(row["level"])
        for kind, only in (("m", only_m), ("u", only_u)):
            values = estimated[kind].get(comparison)
            if values is None or (only is not None and comparison not in only):
                continue
            by_level = dict(zip(estimated["levels"][comparison], values, strict=True))
            row[f"{kind}_probability"] = f"{by_level[level]:g}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def settings_csv(matches_per_record: float, seeds_dir: Path) -> str:
    text = (seeds_dir / f"{SETTINGS_SEED}.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    for row in rows:
        if row["setting"] == "matches_per_record":
            row["value"] = f"{matches_per_record:g}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or []), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def diff(path: Path, new_text: str) -> str:
    old = path.read_text(encoding="utf-8")
    return "".join(
        difflib.unified_diff(old.splitlines(True), new_text.splitlines(True), f"a/{path.name}", f"b/{path.name}")
    )


# -- running the matcher -----------------------------------------------------------------------------

# The matcher's dbt runs (seeds, run-operations) read no lake and no interval. They run in a new
# scratch folder each time, starting from the parse of the last scratch run (pipeline.run_dbt's parse
# cache): the project reads the lake and the interval only when a node runs, so each folder's own
# lake and a run without an interval keep that parse (docs/dbt-parse.md).


def scratch_settings(base: Path, warehouse: Path | None = None):
    """Settings of a scratch folder where the matcher runs: the warehouse ``base/warehouse.duckdb``
    (or ``warehouse``), dbt's target and logs under ``base`` (its lake, never read, under ``base`` too)."""
    from intent_pipeline.settings import Settings

    return Settings.from_env({
        "INTENT_HOME": str(base),
        "INTENT_WAREHOUSE": str(warehouse or base / "warehouse.duckdb"),
        "INTENT_STATE_DIR": str(base),
    })  # fmt: skip


@dataclass
class Scratch:
    """A temporary DuckDB file with the records and the seeds, where the matcher runs."""

    base: Path
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.base / "warehouse.duckdb"

    def dbt(self, *args: str) -> None:
        from intent_pipeline import pipeline
        from intent_pipeline.settings import Settings

        # nothing reads a scratch run's JSON artifacts (manifest.json, run_results.json): not written
        done = pipeline.run_dbt(
            scratch_settings(self.base), *args, "--no-write-json", interval=None,
            parse_cache=pipeline.scratch_parse_cache(Settings.from_env()),
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args[:2])} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")

    def gammas(self, table: str, comparisons: list[str]):
        import duckdb
        import numpy as np

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            present = {row[0] for row in con.execute(f"describe {table}").fetchall()}
            missing = [c for c in comparisons if f"gamma_{c}" not in present]
            if missing:
                raise RuntimeError(f"the seed has comparisons the configuration does not compare: {missing}")
            rows = con.execute(f"select {', '.join(f'gamma_{c}' for c in comparisons)} from {table}").fetchall()
        finally:
            con.close()
        return np.array(rows, dtype=int).reshape(-1, len(comparisons))


def load_records(
    warehouse: Path, records_csv: Path | None, source_warehouse: Path | None, columns_from: dict[str, str] | None = None
) -> int:
    """Copy the records (CSV, or the warehouse's int_identity_records) into ``warehouse``, a record
    column read from the column ``columns_from`` names (e.g. record_id from unique_id); return how many."""
    columns_from = columns_from or {}
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        if records_csv is not None:
            con.execute("create temp table raw as select * from read_csv(?, all_varchar = true)", [str(records_csv)])
        else:
            con.execute("attach ? as source (read_only)", [str(source_warehouse)])
            con.execute("create temp table raw as select * from source.intermediate.int_identity_records")
        present = {row[0] for row in con.execute("describe raw").fetchall()}
        columns = []
        for column in RECORD_COLUMNS:
            found = columns_from.get(column, column)
            found = found if found in present else column  # a file that already has the record column
            columns.append(
                f"cast({found} as varchar) as {column}" if found in present else f"cast(null as varchar) as {column}"
            )
        con.execute(f"create or replace table {RECORDS_TABLE} as select {', '.join(columns)} from raw")
        return int(con.execute(f"select count(*) from {RECORDS_TABLE}").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def estimate(
    records_csv: Path | None = None,
    source_warehouse: Path | None = None,
    sample_records: int = 1000,
    seeds_dir: Path = SEEDS_DIR,
    columns_from: dict[str, str] | None = None,
    seeded: Path | None = None,
) -> dict:
    """Run the matcher over the records (blocked and random pairs) and estimate m, u and the prior.
    ``seeded``: a DuckDB file already holding the seeds (SEEDS, loaded by `dbt seed` from the same
    files), copied as the scratch warehouse instead of seeding it again."""
    levels = read_levels(seeds_dir)
    scratch = Scratch(Path(tempfile.mkdtemp(prefix="intent-identity-estimate-")))
    try:
        if seeded is not None:
            shutil.copyfile(seeded, scratch.warehouse)
        records = load_records(scratch.warehouse, records_csv, source_warehouse, columns_from)
        if seeded is None:
            scratch.dbt("seed", "--select", *SEEDS)
        scratch.dbt(
            "run-operation", "identity_match_table", "--args", f"{{source: {RECORDS_TABLE}, target: {BLOCKED_TABLE}}}"
        )
        scratch.dbt(
            "run-operation",
            "identity_match_table",
            "--args",
            f"{{source: {RECORDS_TABLE}, target: {RANDOM_TABLE}, sample_records: {sample_records}}}",
        )
        comparisons = list(levels)
        blocked, randoms = scratch.gammas(BLOCKED_TABLE, comparisons), scratch.gammas(RANDOM_TABLE, comparisons)
    finally:
        shutil.rmtree(scratch.base, ignore_errors=True)
    if not len(blocked) or not len(randoms):
        raise RuntimeError(
            f"no pairs to estimate from ({len(blocked)} blocked, {len(randoms)} random): are the record columns named?"
        )
    result = estimate_parameters(blocked, randoms, levels, records)
    result["data"] = str(records_csv) if records_csv else f"{source_warehouse}: intermediate.int_identity_records"
    return result


def write_seeds(
    estimated: dict,
    only_m: list[str] | None = None,
    only_u: list[str] | None = None,
    write_prior: bool = True,
    dry_run: bool = False,
    seeds_dir: Path = SEEDS_DIR,
) -> str:
    """Write the estimate into the seeds (unless ``dry_run``); return the change as a unified diff."""
    changes = [(seeds_dir / f"{COMPARISONS_SEED}.csv", comparisons_csv(estimated, only_m, only_u, seeds_dir))]
    if write_prior:
        changes.append((seeds_dir / f"{SETTINGS_SEED}.csv", settings_csv(estimated["matches_per_record"], seeds_dir)))
    patch = "".join(diff(path, text) for path, text in changes)
    if not dry_run:
        for path, text in changes:
            path.write_text(text, encoding="utf-8")
    return patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m intent_pipeline identity-estimate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--records", type=Path, help="a CSV in the record columns (default: the warehouse's records)")
    parser.add_argument("--warehouse", type=Path, help="the DuckDB warehouse (default: INTENT_WAREHOUSE)")
    parser.add_argument(
        "--columns", help="record columns under other names in --records, e.g. record_id=unique_id,last_name=surname"
    )
    parser.add_argument("--sample-records", type=int, default=1000, help="random records whose pairs give u")
    parser.add_argument("--only-m", help="comparisons whose m to replace, comma-separated (default: all with data)")
    parser.add_argument("--only-u", help="comparisons whose u to replace, comma-separated (default: all with data)")
    parser.add_argument("--keep-prior", action="store_true", help="leave identity_match_settings as it is")
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    args = parser.parse_args(argv)
    source = None
    if args.records is None:
        from intent_pipeline.settings import Settings

        source = args.warehouse or Settings.from_env().warehouse
        if not Path(source).exists():
            print(f"identity-estimate: no warehouse at {source} (build one, or give --records)", file=sys.stderr)
            return 2
    columns_from = dict(pair.split("=", 1) for pair in args.columns.split(",")) if args.columns else None
    try:
        estimated = estimate(args.records, source, args.sample_records, columns_from=columns_from)
    except RuntimeError as error:
        print(f"identity-estimate: {error}", file=sys.stderr)
        return 2
    only_m = args.only_m.split(",") if args.only_m else None
    only_u = args.only_u.split(",") if args.only_u else None
    patch = write_seeds(estimated, only_m, only_u, write_prior=not args.keep_prior, dry_run=args.dry_run)
    print(patch or "(no change)")
    print(
        f"identity-estimate: {estimated['records']} records, {estimated['blocked_pairs']} blocked and "
        f"{estimated['random_pairs']} random pairs, matches per record {estimated['matches_per_record']}"
        + (" (dry run: nothing written)" if args.dry_run else "; review with git diff dbt_project/seeds"),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
