"""Identity resolution on a workload written by hand, not by synth/ (the outside check of issue 12).

Landing files as an outside user's exports have them (a 金数据 CSV in Chinese, a Typeform CSV, a CRM
leads report), each record labelled here with the real person who filled it in, go through the
real extractors (``extract_source``) and the real dbt identity models
(``dbt build --select +int_people_resolved``). The kinds of mess real exports have, each its own
case:

* shared office mailboxes (info@, sales@) used by two people with their own phones;
* a family phone shared by husband and wife (their own mailboxes);
* an office switchboard number on the forms of four colleagues;
* a typo'd name (Jonathan / Jonathon) on two records of one person sharing a phone;
* the same name at two companies (陈静, David Lee), each with their own mailbox and phone;
* a person who changed company and mailbox but kept her phone (李娜);
* Gmail dots, ``+tags`` and googlemail.com for one person; Outlook addresses that differ only by a
  dot are two people (Outlook ignores no dots), an Outlook ``+tag`` is dropped;
* full-width characters typed with a Chinese input method (``ｚｈｏｕｊｉｅ＠ｑｑ．ｃｏｍ``, full-width digits);
* a Chinese name in characters, in pinyin surname first and given name first, with a typo'd Gmail
  domain and no phone (a probabilistic match).

Measured: the over-merge rate (resolved people holding records of two or more real people) and
the under-merge rate (real people whose records are split over two or more resolved people), both
must be zero, and each failing case is named.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.dbt.conftest import WITHOUT_UNIT_TESTS, run_dbt

pytestmark = pytest.mark.slow

DAY = date(2026, 11, 21)
INTERVAL = (datetime(2026, 11, 21), datetime(2026, 11, 22))
# the identity models and their seeds, with the data tests whose every parent is among them
IDENTITY = ("--select", "+int_people_resolved", "--indirect-selection", "cautious")

# (case, real person, record id, name, email, phone, company): the record id is the form's 序号 /
# Submission ID or the CRM's Lead ID; source by prefix (j: 金数据, t: Typeform, L: CRM lead)
RECORDS = [
    ("shared office mailbox", "zhang_wei_acme", "j1", "张伟", "info@acme-tech.cn", "13911110001", "艾克米科技"),
    ("shared office mailbox", "liu_fang_acme", "j2", "刘芳", "info@acme-tech.cn", "13911110002", "艾克米科技"),
    ("shared office mailbox", "peter_brown", "t1", "Peter Brown", "sales@northwind.com", "+1 415 555 0101",
     "Northwind"),
    ("shared office mailbox", "mary_jones", "t2", "Mary Jones", "sales@northwind.com", "+1 415 555 0177",
     "Northwind"),
    ("family phone", "wang_qiang", "j3", "王强", "wangqiang@sina.com", "138 2222 3333", None),
    ("family phone", "li_mei", "j4", "李梅", "limei1985@163.com", "138-2222-3333", None),
    ("family phone", "wang_qiang", "L1", "王强", "wangqiang@sina.com", "+86 138 2222 3333", "强盛贸易"),
    ("switchboard", "sun_li", "j5", "孙丽", "sunli@huaxin.cn", "021-6888 0000", "华信"),
    ("switchboard", "zhou_tao", "j6", "周涛", "zhoutao@huaxin.cn", "021-6888 0000", "华信"),
    ("switchboard", "wu_min", "j7", "吴敏", "wumin@huaxin.cn", "021-6888 0000", "华信"),
    ("switchboard", "zheng_hao", "j8", "郑浩", "zhenghao@huaxin.cn", "021-6888 0000", "华信"),
    ("typo'd name", "jonathan_smith", "t3", "Jonathan Smith", "jsmith@contoso.co.uk", "+44 20 7946 0958",
     "Contoso"),
    ("typo'd name", "jonathan_smith", "L2", "Jonathon Smith", "jonathan.smith@gmail.com", "+44 20 7946 0958",
     "Contoso Ltd"),
    ("same name, two companies", "chen_jing_hw", "j9", "陈静", "chenjing@hw-tech.cn", "13700000011", "华为技术"),
    ("same name, two companies", "chen_jing_tx", "j10", "陈静", "chen.jing@tx-net.cn", "13700000022", "腾讯网络"),
    ("same name, two companies", "david_lee_globex", "t4", "David Lee", "david.lee@globex.com",
     "+1 212 555 0143", "Globex"),
    ("same name, two companies", "david_lee_initech", "t5", "David Lee", "dlee@initech.com", "+1 312 555 0190",
     "Initech"),
    ("changed company", "li_na", "L3", "李娜", "lina@oldco.cn", "13600001234", "旧公司"),
    ("changed company", "li_na", "j11", "李娜", "li.na@newco.com", "136 0000 1234", "新公司"),
    ("gmail dots and tags", "amy_chen", "t6", "Amy Chen", "Amy.Chen+events@gmail.com", None, "Fabrikam"),
    ("gmail dots and tags", "amy_chen", "t7", "Amy Chen", "amychen@googlemail.com", None, "Fabrikam"),
    ("outlook dots", "tom_li", "t8", "Tom Li", "t.li@outlook.com", None, None),
    ("outlook dots", "ted_li", "t9", "Ted Li", "tli@outlook.com", None, None),
    ("outlook dots", "tom_li", "t10", "Tom Li", "t.li+promo@outlook.com", None, None),
    ("full-width", "zhou_jie", "j12", "周杰", "ｚｈｏｕｊｉｅ＠ｑｑ．ｃｏｍ", "１３５１２３４５６７８", None),
    ("full-width", "zhou_jie", "L4", "周杰", "zhoujie@qq.com", "13512345678", "杰伦文化"),
    ("name orders", "wang_xiaoming", "L5", "王小明", "xiaoming.wang@gmail.com", "13900001111", "复旦"),
    ("name orders", "wang_xiaoming", "t11", "Xiaoming Wang", "xiaoming.wang@gmail.com", None, None),
    ("name orders", "wang_xiaoming", "t12", "WANG Xiaoming", "xiaoming.wang@gmial.com", None, None),
]  # fmt: skip
CASES = sorted({case for case, *_ in RECORDS})


def write_landing(landing: Path) -> None:
    """The records as three exports of the interval's drop."""
    jinshuju = ["序号", "表单名称", "姓名", "手机号", "邮箱", "公司", "提交时间"]
    typeform = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Submitted At"]
    leads = ["Lead ID", "Email", "Phone", "Name", "Company", "Status", "Created Date", "Last Modified Date"]
    rows: dict[str, list[list]] = {"j": [], "t": [], "L": []}
    for number, (_, _, key, name, email, phone, company) in enumerate(RECORDS):
        minute = f"{10 + number // 60:02d}:{number % 60:02d}"
        if key.startswith("j"):
            rows["j"].append([key[1:], "免费试用申请", name, phone, email, company, f"2026-11-21 {minute}:00"])
        elif key.startswith("t"):
            rows["t"].append([key, "Contact Us", name, email, phone, company, f"2026-11-21T{minute}:00Z"])
        else:
            rows["L"].append([key, email, phone, name, company, "New", "2026-06-01 09:00:00",
                              f"2026-11-21 {minute}:00"])  # fmt: skip
    exports = (("forms", "jinshuju.csv", jinshuju, "j"), ("forms", "typeform.csv", typeform, "t"),
               ("crm", "leads.csv", leads, "L"))  # fmt: skip
    for source, file, header, key in exports:
        folder = landing / source / f"dt={DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / file).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([[value or "" for value in row] for row in rows[key]])


@pytest.fixture(scope="module")
def resolved(tmp_path_factory, dbt_parse_cache):
    """Each record's resolved person and the extract's manifests."""
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import extract_source

    base = tmp_path_factory.mktemp("identity-outside")
    settings = Settings.from_env({"INTENT_HOME": str(base)})
    write_landing(Path(settings.landing_url))
    manifests = {
        source: extract_source(source, settings, DAY, batch_id=f"outside/{source}", loaded_at=datetime(2026, 11, 22))
        for source in ("forms", "email", "web", "crm")
    }
    done = run_dbt(base / "dbt", settings.lake_dir, "build", *IDENTITY, *WITHOUT_UNIT_TESTS, interval=INTERVAL)
    assert done.returncode == 0, done.stdout[-6000:]

    import duckdb

    con = duckdb.connect(str(base / "dbt" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """
            select coalesce(forms.submission_id, nodes.record_key), people.person_id
            from intermediate.int_identity_record_nodes as nodes
            inner join intermediate.int_people_resolved as people
                on people.node_key = nodes.anchor_key
            left join staging.stg_forms__submissions as forms
                on nodes.record_source = 'forms' and forms.submission_key = nodes.record_key
            """
        ).fetchall()
    finally:
        con.close()
    person_of: dict[str, set[str]] = defaultdict(set)
    for record, person in rows:
        person_of[record].add(person)
    return manifests, person_of


def record_key(key: str) -> str:
    return key[1:] if key.startswith("j") else key


def test_every_record_is_loaded_and_resolved(resolved):
    manifests, person_of = resolved
    for source in ("forms", "crm"):
        for table, counts in manifests[source]["tables"].items():
            assert counts["quarantined"] == 0, (table, manifests[source])
    missing = [key for _, _, key, *_ in RECORDS if record_key(key) not in person_of]
    assert missing == []
    assert all(len(people) == 1 for people in person_of.values()), person_of


def merge_errors(person_of: dict[str, set[str]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(over-merged: resolved person -> the real people it holds; under-merged: real person -> the
    resolved people their records are split over)."""
    real_in: dict[str, set[str]] = defaultdict(set)
    resolved_of: dict[str, set[str]] = defaultdict(set)
    for _, real, key, *_ in RECORDS:
        for person in person_of.get(record_key(key), ()):  # a record not resolved: the first test says so
            real_in[person].add(real)
            resolved_of[real].add(person)
    over = {person: reals for person, reals in real_in.items() if len(reals) > 1}
    under = {real: people for real, people in resolved_of.items() if len(people) > 1}
    return over, under


def test_nobody_is_glued_to_anybody_else(resolved):
    _, person_of = resolved
    over, _ = merge_errors(person_of)
    resolved_people = {person for _, _, key, *_ in RECORDS for person in person_of.get(record_key(key), ())}
    share = len(over) / len(resolved_people)
    glued = {case for case, real, *_ in RECORDS for reals in over.values() if real in reals}
    assert share == 0, (f"over-merged {share:.1%}", sorted(glued), over)


def test_nobody_is_split(resolved):
    _, person_of = resolved
    _, under = merge_errors(person_of)
    real_people = {real for _, real, *_ in RECORDS}
    split = sorted({case for case, real, *_ in RECORDS if real in under})
    assert len(under) / len(real_people) == 0, (f"under-merged {len(under) / len(real_people):.1%}", split, under)


def test_the_measure_sees_a_glued_and_a_split_person():
    """The two measures above can fail: two real people on one resolved person, one on two."""
    person_of = {record_key(key): {real} for _, real, key, *_ in RECORDS}
    person_of[record_key("j2")] = {"zhang_wei_acme"}  # 刘芳 resolved into 张伟
    person_of[record_key("t7")] = {"someone_else"}  # Amy's googlemail record alone
    over, under = merge_errors(person_of)
    assert over == {"zhang_wei_acme": {"zhang_wei_acme", "liu_fang_acme"}}
    assert under == {"amy_chen": {"amy_chen", "someone_else"}}
