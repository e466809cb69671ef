"""Role and team mailboxes (seed identity_blocklist) are no identifier (issue 12, item 3).

The end-to-end sample glued three buyers through procurement@zhongkeankj.cn, a team mailbox the
blocklist did not know. The seed now lists the role local parts of a public list and Chinese-market
ones in pinyin (docs/identity.md, "Role mailboxes"). The graph (int_identity_record_identifiers)
and the matcher (its email comparison's `blocklist: email`) read the seed through the same macro,
blocklist_reason; here the real `dbt run-operation identity_match_table` runs the pipeline's matcher
over records sharing mailboxes: a blocked mailbox is no value (level -1, counted as blocked), a
personal one is equal (level 3), and two people sharing a team mailbox and nothing else are not
matched.
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

ROLE = [
    "procurement@zhongkeankj.cn",
    "purchasing@zhongkeankj.cn",
    "caigou@zhongkeankj.cn",
    "xiaoshou@huatech.com",
    "kefu@huatech.com",
    "renshi@huatech.com",
    "hello@shopmart.com",
    "marketing@shopmart.com",
    "sales.team@shopmart.com",
    "Finance@Shopmart.com",
]
PERSONAL = ["procurement.li@zhongkeankj.cn", "yan.wu1665@huatech.com", "caigou2024@qq.com", "hellen@shopmart.com"]
# two people, one team mailbox, nothing else in common (no phone)
GLUE = [("g1", "田艳", "procurement@zhongkeankj.cn"), ("g2", "刘洋", "procurement@zhongkeankj.cn")]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    base = Path(tempfile.mkdtemp(prefix="intent-identity-roles-"))
    try:
        path = base / "records.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["record_id", "full_name", "email", "phone", "company", "cluster"])
            writer.writeheader()
            # each address on two records of two people with a phone of the address's own: compared.
            # The phones differ in two places (the code twice), so no two are one typo apart.
            for i, email in enumerate(ROLE + PERSONAL):
                code = f"{i + 10:02d}"
                phone = f"+86139{code}5{code}79"
                for side, name in (("a", "王伟"), ("b", "李娜")):
                    writer.writerow({"record_id": f"{email}|{side}", "full_name": name, "email": email,
                                     "phone": phone, "cluster": f"{email}|{side}"})  # fmt: skip
            for key, name, email in GLUE:
                writer.writerow({"record_id": key, "full_name": name, "email": email, "company": "中科安",
                                 "cluster": key})  # fmt: skip
        im.prepare(path, base, matcher_seeds(tmp_path_factory))
        im.match_table(base, im.PAIRS_TABLE)
        warehouse = base / "warehouse.duckdb"
        rows = im.query(
            warehouse, f"select record_id_l, record_id_r, gamma_email, match_probability from {im.PAIRS_TABLE}"
        )
        blocked = im.query(
            warehouse, f"select blocked_values from {im.PAIRS_TABLE}_standardisation where comparison = 'email'"
        )[0][0]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {(left, right): (gamma, probability) for left, right, gamma, probability in rows}, blocked


@pytest.mark.parametrize("email", ROLE)
def test_a_role_mailbox_is_no_identifier(pairs, email):
    found, _ = pairs
    assert found[(f"{email}|a", f"{email}|b")][0] == -1


@pytest.mark.parametrize("email", PERSONAL)
def test_a_personal_mailbox_that_starts_like_a_role_stays_one(pairs, email):
    found, _ = pairs
    assert found[(f"{email}|a", f"{email}|b")][0] == 3


def test_blocked_mailboxes_are_counted(pairs):
    _, blocked = pairs
    assert blocked == 2 * len(ROLE) + len(GLUE)


def test_a_team_mailbox_shared_by_two_people_does_not_glue_them(pairs):
    found, _ = pairs
    gamma, probability = found.get(("g1", "g2"), (-1, 0.0))
    assert gamma == -1 and probability < im.DEFAULT_THRESHOLD
