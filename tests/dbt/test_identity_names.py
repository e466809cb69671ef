"""Names in characters against their romanisation, in the pipeline's matcher (issue 12, item 1).

A handful of records in the pipeline's record columns (int_identity_records: names as a full
name, as the forms and the CRM give them, and a few in the given name and surname fields) are
run through the real `dbt run-operation identity_match_table` (the pipeline's configuration,
macro identity_match_config, and its seeds) on a DuckDB file. Every record shares one phone, so
blocking compares every pair; the checks read the name levels (gamma_first_name,
gamma_last_name: 3 equal ... 0 different).

王伟 against "Wang Wei" was the gap: both romanised words are pinyin surnames (魏 wei), so the name
was read given name first and both parts compared at 0. The last three tests guard each arm of a
name's other reading (cm_pn_key(..., other=true), the alt_ keys): name fields turned round, a
romanised name read surname first turned to surname last, and the other way round.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.benches import load_bench
from tests.dbt.identity_builds import matcher_seeds

pytestmark = pytest.mark.slow

im = load_bench("identity_matching")

PHONE = "+8613957210486"
NAMES = {
    "hz": "王伟",
    "wang_wei": "Wang Wei",  # surname first: both words are pinyin surnames
    "wei_wang": "Wei Wang",  # given name first
    "upper": "WANG Wei",
    "hz_homophone": "王维",  # the same pinyin in other characters
    "huang": "Huang Wei",  # Huang is not Wang (one letter in pinyin)
    "hz_huang": "黄伟",
    "hz_zhang": "张伟",
    "hz_yang": "杨伟",
    "yang": "Yang Wei",
    "kevin": "Kevin Wang",  # an English given name with the same surname
    "anna": "Anna",
    "hz_anna": "安娜",  # an, na: the English name written as one word is not split into syllables
    "hz3": "王小明",
    "wang_xiao_ming": "Wang Xiao Ming",  # ming is a surname too: read given name first
    "xiaoming_wang": "Xiaoming Wang",
    "hz_ouyang": "欧阳娜",
    "ouyang_na": "Ouyang Na",
    "na_ouyang": "Na Ouyang",
    "zhang_wei": "Zhang Wei",  # surname first; both words are pinyin surnames: read given name first
    "wei_zhang": "Wei Zhang",
    "hz_ouyang_li": "欧阳丽",
    "li_ouyang": "Li Ouyang",  # given name first, li a pinyin surname and ouyang not: read surname first
}
# Name fields (first_name, last_name) as a CRM or a form with two name boxes gives them.
FIELDS = {
    "fields": ("Wei", "Zhang"),
    "fields_swapped": ("Zhang", "Wei"),  # the surname typed into the given name box and back
    "fields_other": ("Ming", "Li"),  # both names differ
}
# A second group, nothing shared but the name: only the blocking rules on names bring it together.
UNBLOCKED = {"far_hz": ("王小明", "a@one.cn"), "far_latin": ("Wang Xiao Ming", "b@two.cn")}


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    base = Path(tempfile.mkdtemp(prefix="intent-identity-names-"))
    try:
        path = base / "records.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            fieldnames = ["record_id", "first_name", "last_name", "full_name", "phone", "email", "cluster"]
            writer = csv.DictWriter(f, fieldnames=fieldnames)
            writer.writeheader()
            for key, name in NAMES.items():
                writer.writerow({"record_id": key, "full_name": name, "phone": PHONE, "cluster": key})
            for key, (given, surname) in FIELDS.items():
                row = {"record_id": key, "first_name": given, "last_name": surname, "phone": PHONE, "cluster": key}
                writer.writerow(row)
            for key, (name, email) in UNBLOCKED.items():
                writer.writerow({"record_id": key, "full_name": name, "email": email, "cluster": key})
        im.prepare(path, base, matcher_seeds(tmp_path_factory))
        im.match_table(base, im.PAIRS_TABLE)
        rows = im.query(
            base / "warehouse.duckdb",
            f"select record_id_l, record_id_r, gamma_first_name, gamma_last_name from {im.PAIRS_TABLE}",
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    found = {}
    for left, right, given, surname in rows:
        found[(left, right)] = found[(right, left)] = (given, surname)
    return found


@pytest.mark.parametrize("other", ["wang_wei", "wei_wang", "upper"])
def test_characters_equal_their_romanisation_in_either_order(levels, other):
    assert levels[("hz", other)] == (3, 3), other


def test_romanised_orders_equal_each_other(levels):
    assert levels[("wang_wei", "wei_wang")] == (3, 3)
    assert levels[("wang_wei", "upper")] == (3, 3)


def test_other_characters_with_the_same_pinyin_are_level_one_against_characters_only(levels):
    assert levels[("hz", "hz_homophone")] == (1, 3)  # 伟 / 维: a homophone the input method offered
    assert levels[("hz_homophone", "wang_wei")] == (3, 3)  # pinyin cannot tell 伟 from 维


@pytest.mark.parametrize(
    ("left", "right"),
    [("hz", "huang"), ("hz_huang", "wang_wei"), ("hz_zhang", "huang"), ("hz_yang", "wang_wei"), ("hz", "yang")],
)  # fmt: skip
def test_similar_surnames_stay_different(levels, left, right):
    given, surname = levels[(left, right)]
    assert surname == 0, (left, right, given, surname)
    assert given == 3  # the given names (wei) agree once the romanised name is read the right way round


@pytest.mark.parametrize(("left", "right"), [("wang_wei", "yang"), ("wang_wei", "huang")])
def test_similar_surnames_stay_different_between_romanised_names(levels, left, right):
    # which word is the surname is unknown on both sides (wei is a surname too): one part disagrees
    assert 0 in levels[(left, right)], levels[(left, right)]


def test_english_names_stay_apart_from_chinese_ones(levels):
    assert levels[("hz", "kevin")] == (0, 3)  # Kevin Wang and 王伟: surname equal, given name different
    assert levels[("wang_wei", "kevin")][0] == 0
    given, surname = levels[("hz_anna", "anna")]
    assert given == 0 and surname in (-1, 0)


def test_three_syllable_names_in_either_order(levels):
    assert levels[("hz3", "wang_xiao_ming")] == (3, 3)
    assert levels[("hz3", "xiaoming_wang")] == (3, 3)
    assert levels[("wang_xiao_ming", "xiaoming_wang")] == (3, 3)


def test_compound_surnames(levels):
    assert levels[("hz_ouyang", "ouyang_na")] == (3, 3)
    assert levels[("hz_ouyang", "na_ouyang")] == (3, 3)


def test_blocking_reads_a_romanised_name_both_ways(levels):
    # nothing but the name in common: the pair is compared only because a blocking key of the
    # name's other reading (surname wang, given xiaoming) meets the characters' key
    assert levels[("far_hz", "far_latin")] == (3, 3)


def test_swapped_name_fields_are_read_the_other_way_round(levels):
    # Zhang in the given name field, Wei in the surname field: only the fields turned round (the
    # alt_ keys) agree with 张伟, whose characters have no other reading, and with the right fields
    assert levels[("fields_swapped", "hz_zhang")] == (3, 3)
    assert levels[("fields_swapped", "fields")] == (3, 3)
    assert levels[("fields", "hz_zhang")] == (3, 3)  # as read


def test_a_romanised_name_has_the_other_order_as_its_other_reading(levels):
    # "Zhang Wei" and "Wei Zhang" are both read given name first (zhang and wei are both pinyin
    # surnames): only the other reading of one, surname first, agrees with the other
    assert levels[("zhang_wei", "wei_zhang")] == (3, 3)
    assert levels[("zhang_wei", "fields_swapped")] == (3, 3)  # as read: given zhang, surname wei
    assert levels[("wei_zhang", "fields")] == (3, 3)
    # li is a pinyin surname and ouyang is not, so "Li Ouyang" is read surname first (surname li);
    # 欧阳丽 agrees only with its other reading, surname last
    assert levels[("hz_ouyang_li", "li_ouyang")] == (3, 3)


def test_turning_a_name_round_does_not_match_other_names(levels):
    assert levels[("fields_other", "fields_swapped")] == (0, 0)
    assert levels[("fields_other", "fields")] == (0, 0)
    assert levels[("fields_other", "hz_zhang")] == (0, 0)
    assert levels[("fields_other", "zhang_wei")] == (0, 0)
    assert levels[("fields_other", "wei_zhang")] == (0, 0)
