"""The polluted workload holds the name pairs issue 12's name comparison has to get right.

One person's forms written in characters (王伟) and romanised either way round (Wang Wei, Wei Wang),
including names whose two romanised words are both pinyin surnames (wei is 魏's reading too): the
case the pipeline's matcher read the wrong way round until tests/dbt/test_identity_names.py. The
surnames are the matcher's own (seed identity_match_pinyin), read here from the seed file.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from . import helpers as h

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "identity_match_pinyin.csv"


def read_seed() -> tuple[dict[str, str], set[str]]:
    """The seed's reading of a character as a surname, and the pinyin surnames."""
    with SEED.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    readings = {r["character"]: r["surname_pinyin"] or r["pinyin"] for r in rows}
    return readings, {r["surname_pinyin"] for r in rows} - {""}


def test_characters_and_both_romanised_orders_of_one_person(polluted):
    surname_reading, surnames = read_seed()
    people = {p["person_key"]: p for p in h.read_truth(polluted.truth, "people.csv")}
    owner = {(r["source"], r["record_key"]): r["person_key"] for r in h.read_truth(polluted.truth, "records.csv")}
    written = defaultdict(set)
    for row in h.form_rows(polluted.landing):
        person = owner.get(("forms", row["key"]))
        if person and row["full_name"]:
            written[person].add(row["full_name"])
    found = defaultdict(set)  # (order, both words pinyin surnames) -> people
    for key, names in written.items():
        p = people[key]
        if p["name_language"] != "zh" or p["full_name"] not in names:
            continue  # not a Chinese name, or never written in characters
        for name in names:
            words = name.lower().split()
            if len(words) != 2 or not name.isascii():
                continue  # characters, or an English name of more words
            order = "surname_first" if words[0] == surname_reading.get(p["full_name"][0]) else "given_first"
            found[(order, words[0] in surnames and words[1] in surnames)].add(key)
    counts = {f"{order}{'_both_surnames' if both else ''}": len(v) for (order, both), v in found.items()}
    # 吴丽 also writes WU Li (wu and li are both surnames: the case that was read the wrong way
    # round) and 冯洋 Yang Feng; the counts are in the message when this fails
    assert found[("surname_first", True)] and found[("given_first", True)], counts
