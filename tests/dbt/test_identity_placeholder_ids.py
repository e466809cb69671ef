"""Placeholder national ids against the veto override, through the real dbt matcher (the outside check).

The veto override (var ``identity_match_veto_override``, docs/identity.md "The veto override,
measured") lets an equal national id and equal names lift a date-of-birth veto. Real exports fill
a mandatory id field with placeholders: ``123456789``, ``N/A``, ``unknown``, ``999999999``, one digit
repeated, zeros, dashes, ``无``. Two different people of a common name (John Smith, 王伟) with other
birth dates and one such placeholder must stay two people; one person whose birth date was typed
wrong on one record (real id, names equal) must still be joined.

Records written here by hand, each labelled with its real person, go through ``dbt run-operation
configured_match_table`` with the pipeline's own configuration (``identity_match_config``) on a
warehouse seeded by the real ``dbt seed``; twice: with the shipped seeds (the national id weighs 0
until estimated) and with the national id weighed as ``identity-estimate`` weighs a unique
identifier on records that carry one (m/u below, written into the seed table: what a user with
national ids gets after the estimate). Measured: the glued people (resolved groups holding two or
more real people) and the split people.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.benches import load_bench
from tests.dbt.identity_builds import people_and_groups, seeded_warehouse

pytestmark = pytest.mark.slow

im = load_bench("identity_matching")
TABLE = "main.placeholder_id_records"
PAIRS = "main.placeholder_id_pairs"
GROUPS = "main.placeholder_id_groups"
PLACEHOLDERS = ["123456789", "N/A", "unknown", "999999999", "111111111", "000000000", "---", "无", "none",
                "123-45-6789", "xxxxxxxxx", "0"]  # fmt: skip
# (record, person, first name, last name, dob, national id, city, phone)
RECORDS: list[tuple] = []
for n, placeholder in enumerate(PLACEHOLDERS):
    # two John Smiths and two 王伟 with one placeholder per pair; every birth date of the file is
    # years, months and days away from every other (no date typo joins them without the id)
    born_a = f"{1940 + 2 * n}-{n % 12 + 1:02d}-{n + 1:02d}"
    born_b = f"{1971 + 2 * n}-{(n + 6) % 12 + 1:02d}-{28 - n:02d}"
    RECORDS += [
        (f"js{n}a", f"john_smith_{n}a", "John", "Smith", born_a, placeholder, "Sydney", None),
        (f"js{n}b", f"john_smith_{n}b", "John", "Smith", born_b, placeholder, "Melbourne", None),
        (f"ww{n}a", f"wang_wei_{n}a", "伟", "王", born_a, placeholder, "上海", None),
        (f"ww{n}b", f"wang_wei_{n}b", "伟", "王", born_b, placeholder, "北京", None),
    ]
RECORDS += [
    # one person each: a birth date typed wrong on one record, the real national id and the names equal
    ("d1", "li_na", "Na", "Li", "1985-07-21", "110101198507214328", "Hangzhou", "+8613812345678"),
    ("d2", "li_na", "Na", "Li", "1978-12-21", "110101198507214328", "Hangzhou", "+8613812345678"),
    ("d3", "john_smith_real", "John", "Smith", "1968-04-30", "078-05-1121", "Perth", None),
    ("d4", "john_smith_real", "John", "Smith", "1999-03-04", "078-05-1121", "Perth", None),
]  # fmt: skip
# the national id weighed as identity-estimate weighs a unique identifier (equal: strong evidence)
ESTIMATED_NATIONAL_ID = {2: (0.90, 0.0001), 1: (0.05, 0.0005), 0: (0.05, 0.9994)}


def merge_rates(group_of: dict[str, str], person_of: dict[str, str]) -> dict:
    people_in, groups_of = people_and_groups(group_of, person_of)
    return {
        "people": len(groups_of),
        "glued": sorted(sorted(p) for p in people_in.values() if len(p) > 1),
        "split": sorted(p for p, g in groups_of.items() if len(g) > 1),
    }


def group(base: Path, warehouse: Path) -> dict[str, str]:
    arguments = {"source": TABLE, "target": PAIRS, "groups": GROUPS}
    im.run_dbt(base, "run-operation", "configured_match_table", "--args", json.dumps(arguments), "--no-write-json")
    return dict(im.query(warehouse, f"select node_key, component_key from {GROUPS}"))


def blocked_ids(warehouse: Path) -> tuple[int, int]:
    """(present, blocked) national ids as the run's standardisation table counts them."""
    ((present, blocked),) = im.query(
        warehouse,
        f"select present_values, blocked_values from {PAIRS}_standardisation where comparison = 'national_id'",
    )
    return present, blocked


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dbt_parse_cache):
    import duckdb

    base = Path(tempfile.mkdtemp(prefix="intent-placeholder-ids-"))
    found = {}
    try:
        warehouse = seeded_warehouse(tmp_path_factory, base)
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(
                f"create table {TABLE} (record_id varchar, first_name varchar, last_name varchar, full_name varchar, "
                "email varchar, phone varchar, company varchar, city varchar, dob varchar, national_id varchar)"
            )
            con.executemany(
                f"insert into {TABLE} values (?, ?, ?, null, null, ?, null, ?, ?, ?)",
                [(r, first, last, phone, city, dob, nid) for r, _, first, last, dob, nid, city, phone in RECORDS],
            )
        finally:
            con.close()
        found["shipped"] = group(base, warehouse)
        found["blocked"] = blocked_ids(warehouse)
        con = duckdb.connect(str(warehouse))
        try:
            for level, (m, u) in ESTIMATED_NATIONAL_ID.items():
                con.execute(
                    "update staging.identity_match_comparisons set m_probability = ?, u_probability = ? "
                    "where comparison = 'national_id' and level = ?",
                    [m, u, level],
                )
        finally:
            con.close()
        found["estimated"] = group(base, warehouse)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return found, {r[0]: r[1] for r in RECORDS}


@pytest.mark.parametrize("seeds", ["shipped", "estimated"])
def test_a_placeholder_national_id_glues_nobody(runs, seeds):
    found, person_of = runs
    rates = merge_rates(found[seeds], person_of)
    print(f"placeholder ids, {seeds} seeds:", json.dumps(rates, ensure_ascii=False))
    assert rates["glued"] == []


def test_a_real_national_id_still_lifts_a_birth_date_typed_wrong(runs):
    found, _ = runs
    groups = found["estimated"]
    assert groups["d1"] == groups["d2"]
    assert groups["d3"] == groups["d4"]


def test_the_standardisation_counts_the_placeholders_it_blocked(runs):
    found, _ = runs
    assert found["blocked"] == (len(RECORDS), 4 * len(PLACEHOLDERS))
