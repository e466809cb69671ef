"""Data stewards' identity decisions (seed identity_decisions) on real dbt builds, and
``python -m intent_pipeline explain-identity`` on the warehouse they make.

Day 1 is the session's build of conftest's lake (no decisions). Day 2 adds two colleagues named Yan
Wu whose forms share a desk phone and a laptop (two paths join them: one person), and three
visitors on one kiosk browser (a hub). Day 3 adds no data but three decisions, written to the seed
CSV of a copy of the dbt project as a steward would: cannot_link the two Yan Wus, must_link dave
and erin, detach carol's phone. Day 3 is then re-run, and day 4 built: nothing may change.

Day 3 is one ``dbt build`` of the seed and everything it feeds (``identity_decisions+``: every
model and mart downstream of the decisions, with their data tests, on the decided graph, which holds
day 2's data too; the other seeds and models do not read the decisions). The other days check which
person each identifier belongs to, the output of the identity models: they ``dbt run`` those models
and their parents only (the data tests of the same models run on day 3, over the same rows and the
decisions).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.dbt.conftest import (
    DBT_PROJECT,
    WITHOUT_UNIT_TESTS,
    _dbt_env,
    _seed_partial_parse,
    copy_of,
    form,
    run_project,
    write_partition,
)

pytestmark = pytest.mark.slow

DAY2 = (datetime(2026, 11, 22), datetime(2026, 11, 23))
DAY3 = (datetime(2026, 11, 23), datetime(2026, 11, 24))
DAY4 = (datetime(2026, 11, 24), datetime(2026, 11, 25))
IDENTITY = ("--select", "+int_people_resolved", "+int_identity_id_changes", "+int_identity_decisions_applied")
# day 3: the seed of decisions and every node it feeds (a steward's edit rebuilds only what it reaches)
DECIDED = ("--select", "identity_decisions+")

HEADER = "decision_id,kind,identifier_a,identifier_b,author,reason,decided_on\n"
YAN_1, YAN_2 = "email:yan.wu1665@huatech.com", "email:yan.wu2548@huatech.com"
DESK_PHONE, LAPTOP = "phone:+8613700001111", "web:huatech.laptop"
CAROL_PHONE = "phone:+8615011112222"
# As a steward types them: mixed case and spaces in the email, a formatted phone, a hyphenated kind.
DECISIONS = HEADER + (
    "DS-1,cannot-link, email:Yan.Wu1665@HuaTech.com ,email:yan.wu2548@huatech.com,Li Na,"
    "two colleagues named Yan Wu share a desk phone and a laptop,2026-11-23\n"
    "DS-2,must_link,email:dave@bank.com,email:erin@school.edu,Li Na,"
    "one buyer with a work and a school address,2026-11-23\n"
    ",detach,phone:+86 150-1111-2222,,Wang Wei,the phone on Carol's trial form is her assistant's,2026-11-23\n"
    "DS-3,must_link,email:carol@shopmart.com,crm_lead:00Qlater,Li Na,the CRM will send her second lead,2026-11-23\n"
)


def project_copy(base: Path, decisions: str) -> Path:
    """A copy of the dbt project whose seed identity_decisions.csv holds ``decisions``, and the test
    run's parse of the project in ``base/target``, so that dbt re-parses only what differs.

    dbt keys the files of its saved parse by their path in the project, not by the project's folder,
    so the copy's unchanged files keep their parse. A seed keeps its folder too (dbt reads the CSV at
    load time from there): the shipped seeds, which the copy holds unchanged. identity_decisions.csv,
    when it differs from the shipped one, is a changed file: re-parsed, read from the copy."""
    project = base / "dbt_project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    (project / "seeds" / "identity_decisions.csv").write_text(decisions, encoding="utf-8")
    _seed_partial_parse(base)
    return project


def ids(build) -> dict[str, str]:
    return dict(build.query("select node_key, person_id from intermediate.int_people_resolved"))


def explain(build, a: str, b: str) -> subprocess.CompletedProcess:
    """``python -m intent_pipeline explain-identity a b`` on the build's warehouse: its ``main`` called
    in this process (the command line's parser, the exit code, stdout and stderr), not a new Python
    that imports the package and DuckDB again for each question. ``explain_cli`` runs the real
    ``python -m`` once."""
    from intent_pipeline.__main__ import main

    args = ["explain-identity", a, b, "--warehouse", str(build.warehouse)]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return subprocess.CompletedProcess([sys.executable, "-m", "intent_pipeline", *args], code, out.getvalue(),
                                       err.getvalue())  # fmt: skip


def explain_cli(build, a: str, b: str) -> subprocess.CompletedProcess:
    """The same question asked of a new ``python -m intent_pipeline`` process."""
    return subprocess.run(
        [sys.executable, "-m", "intent_pipeline", "explain-identity", a, b, "--warehouse", str(build.warehouse)],
        capture_output=True,
        text=True,
        env=_dbt_env(build.lake, None),
    )


@pytest.fixture(scope="module")
def decided(tmp_path_factory, warehouse):
    assert warehouse.build.returncode == 0, warehouse.output
    build = copy_of(warehouse, tmp_path_factory.mktemp("decisions"))
    base, lake = build.base, build.lake
    project = project_copy(base, HEADER)
    write_partition(lake, "forms_submissions", date(2026, 11, 22), [
        form("f-yan1-phone", "2026-11-22 02:00:00", "Contact Us", "yan.wu1665@huatech.com", "+8613700001111"),
        form("f-yan2-phone", "2026-11-22 02:10:00", "Contact Us", "yan.wu2548@huatech.com", "+8613700001111"),
        form("f-yan1-laptop", "2026-11-22 02:20:00", "Brochure", "yan.wu1665@huatech.com", None,
             client_id="huatech.laptop"),
        form("f-yan2-laptop", "2026-11-22 02:30:00", "Brochure", "yan.wu2548@huatech.com", None,
             client_id="huatech.laptop"),
        form("f-kiosk-1", "2026-11-22 04:00:00", "Brochure", "xia@visitor.cn", None, client_id="kiosk.1"),
        form("f-kiosk-2", "2026-11-22 04:10:00", "Brochure", "yang@visitor.cn", None, client_id="kiosk.1"),
        form("f-kiosk-3", "2026-11-22 04:20:00", "Brochure", "zhou@visitor.cn", None, client_id="kiosk.1"),
    ])  # fmt: skip
    day2 = run_project(project, base, lake, "run", *IDENTITY, interval=DAY2)
    assert day2.returncode == 0, day2.stdout[-4000:]
    ids_day2 = ids(build)
    (project / "seeds" / "identity_decisions.csv").write_text(DECISIONS, encoding="utf-8")
    # what the edited seed feeds, built once with its data tests, so every model and mart downstream of
    # the decisions (the whole identity graph, people, scores, attribution) and their tests run on the
    # decided graph; the other seeds and the models the decisions do not reach are as day 1 left them
    day3 = run_project(project, base, lake, "build", *WITHOUT_UNIT_TESTS, *DECIDED, interval=DAY3)
    assert day3.returncode == 0, day3.stdout[-6000:]
    ids_day3, log_day3 = ids(build), build.query("select * from intermediate.int_identity_id_changes order by all")
    rerun = run_project(project, base, lake, "run", *IDENTITY, interval=DAY3)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    ids_rerun, log_rerun = ids(build), build.query("select * from intermediate.int_identity_id_changes order by all")
    day4 = run_project(project, base, lake, "run", *IDENTITY, interval=DAY4)
    assert day4.returncode == 0, day4.stdout[-4000:]
    return {
        "build": build, "day1": ids(warehouse), "day2": ids_day2, "day3": ids_day3, "rerun": ids_rerun,
        "day4": ids(build), "log_day3": log_day3, "log_rerun": log_rerun,
        "log_day4": build.query("select * from intermediate.int_identity_id_changes order by all"),
    }  # fmt: skip


def changes(build, changed_on: date) -> list[dict]:
    rows = build.query(
        "select from_person_id, to_person_id, reason, decision_id, decided_by, decision_reason"
        " from intermediate.int_identity_id_changes where changed_on = ? order by all",
        changed_on,
    )
    names = ("from", "to", "reason", "decision_id", "decided_by", "decision_reason")
    return [dict(zip(names, row, strict=True)) for row in rows]


def test_decisions_are_validated_and_normalised(decided):
    rows = decided["build"].query(
        "select decision_id, decision_kind, node_a, node_b, decided_by"
        " from intermediate.int_identity_decisions order by 1"
    )
    assert rows == [
        ("DS-1", "cannot_link", YAN_1, YAN_2, "Li Na"),
        ("DS-2", "must_link", "email:dave@bank.com", "email:erin@school.edu", "Li Na"),
        ("DS-3", "must_link", "email:carol@shopmart.com", "crm_lead:00Qlater", "Li Na"),
        ("line 4", "detach", CAROL_PHONE, None, "Wang Wei"),
    ]


def test_each_decision_says_what_became_of_it(decided):
    build, day3 = decided["build"], decided["day3"]
    statuses = build.query(
        "select decision_id, status, status_detail, person_id_a, person_id_b"
        " from intermediate.int_identity_decisions_applied order by 1"
    )
    dave = day3["email:dave@bank.com"]
    assert statuses == [
        ("DS-1", "applied", "two people", day3[YAN_1], day3[YAN_2]),
        ("DS-2", "applied", "one person", dave, dave),
        ("DS-3", "waiting", "crm_lead:00Qlater is not in the identity graph (not seen yet, or cut by a guard)",
         day3["email:carol@shopmart.com"], None),
        ("line 4", "applied", f"{CAROL_PHONE} is a person of its own", day3[CAROL_PHONE], None),
    ]  # fmt: skip


def test_must_link_joins_two_people(decided):
    day2, day3 = decided["day2"], decided["day3"]
    assert day2["email:dave@bank.com"] != day2["email:erin@school.edu"]
    assert day3["email:dave@bank.com"] == day3["email:erin@school.edu"]
    # erin's browser comes along: the whole of both people is one person now
    assert day3["web:erin.device"] == day3["email:dave@bank.com"]
    assert day3["email:dave@bank.com"] in (day2["email:dave@bank.com"], day2["email:erin@school.edu"])


def test_cannot_link_splits_a_person_joined_by_two_paths(decided):
    day2, day3, build = decided["day2"], decided["day3"], decided["build"]
    # before: the desk phone and the laptop each join the two colleagues
    assert day2[YAN_1] == day2[YAN_2] == day2[DESK_PHONE] == day2[LAPTOP]
    assert day3[YAN_1] != day3[YAN_2]
    cuts = build.query(
        "select node_a, node_b, link_rule, decision_id from intermediate.int_identity_decision_cuts order by all"
    )
    pairs = {frozenset((a, b)) for a, b, _, _ in cuts}
    # both paths are cut where the sides meet; the phone and the laptop, as near to both, stay with identifier_a
    assert frozenset((YAN_2, DESK_PHONE)) in pairs and frozenset((YAN_2, LAPTOP)) in pairs
    assert {decision for *_, decision in cuts} == {"DS-1"}
    assert day3[DESK_PHONE] == day3[LAPTOP] == day3[YAN_1]


def test_detach_leaves_the_identifier_on_its_own(decided):
    day2, day3, build = decided["day2"], decided["day3"], decided["build"]
    carol = day2["email:carol@shopmart.com"]
    assert day2[CAROL_PHONE] == carol
    assert day3[CAROL_PHONE] != day3["email:carol@shopmart.com"]
    assert [node for node, person in day3.items() if person == day3[CAROL_PHONE]] == [CAROL_PHONE]
    assert day3["email:carol@shopmart.com"] == day3["crm_lead:00Qcarol"] == carol  # the rest keeps the id
    cut = build.query(
        "select distinct cut_rule, reason from intermediate.int_identity_links_cut where node_key = ?", CAROL_PHONE
    )
    assert cut == [
        ("decision", "detached by Wang Wei on 2026-11-23 (line 4): the phone on Carol's trial form is her assistant's")
    ]


def test_decisions_are_in_the_merged_and_split_log(decided):
    day2, day3 = decided["day2"], decided["day3"]
    logged = changes(decided["build"], date(2026, 11, 23))
    survivor = day3["email:dave@bank.com"]
    retired = ({day2["email:dave@bank.com"], day2["email:erin@school.edu"]} - {survivor}).pop()
    assert {
        "from": retired, "to": survivor, "reason": "merged", "decision_id": "DS-2", "decided_by": "Li Na",
        "decision_reason": "one buyer with a work and a school address",
    } in logged  # fmt: skip
    yan = day2[YAN_1]
    assert {
        "from": yan, "to": day3[YAN_2], "reason": "split", "decision_id": "DS-1", "decided_by": "Li Na",
        "decision_reason": "two colleagues named Yan Wu share a desk phone and a laptop",
    } in logged  # fmt: skip
    assert day3[YAN_1] == yan
    assert {
        "from": day2["email:carol@shopmart.com"], "to": day3[CAROL_PHONE], "reason": "split", "decision_id": "line 4",
        "decided_by": "Wang Wei", "decision_reason": "the phone on Carol's trial form is her assistant's",
    } in logged  # fmt: skip
    assert len(logged) == 3, logged


def test_decisions_hold_on_a_rerun_and_on_later_runs(decided):
    assert decided["rerun"] == decided["day3"]
    assert decided["day4"] == decided["day3"]
    assert decided["log_rerun"] == decided["log_day3"]
    assert decided["log_day4"] == decided["log_day3"]


def test_people_untouched_by_the_decisions_keep_their_id(decided):
    day2, day3 = decided["day2"], decided["day3"]
    touched = {
        day2[node] for node in ("email:dave@bank.com", "email:erin@school.edu", YAN_1, "email:carol@shopmart.com")
    }
    churned = {node for node, person in day2.items() if person not in touched and day3.get(node) != person}
    assert churned == set()


def test_explain_prints_the_chain_of_two_linked_identifiers(decided):
    build = decided["build"]
    done = explain_cli(build, "Carol@Shopmart.com", "acct_carol")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert explain(build, "Carol@Shopmart.com", "acct_carol").stdout == text  # main() in this process prints the same
    assert "one person, joined by a chain of 2 link(s)" in text
    chain = ["email:carol@shopmart.com  --  web:carol.device", "web:carol.device  --  ga4_user:acct_carol"]
    assert [line.strip() for line in text.splitlines() if "  --  " in line] == chain
    assert "same_record: one record holds both (forms): forms:typeform:f-carol-trial" in text
    assert "same_record: one record holds both (web): web:carol.device|acct_carol" in text


def test_explain_prints_a_probabilistic_link_with_every_comparison(decided):
    build = decided["build"]
    done = explain(build, "crm_lead:00Qcarol", "email:carol@shopmart.com")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    probability, weight = build.one(
        "select match_probability, match_weight from intermediate.int_identity_match_pairs"
        " where record_id_l = 'crm_leads:00Qcarol' and record_id_r = 'forms:typeform:f-carol-trial'"
    )
    assert f"match weight {weight:.2f} bits, match probability {probability:.6f}" in text
    # every comparison column the matcher wrote, whatever they are, with its value
    columns = [
        row[0] for row in build.query(
            "select column_name from information_schema.columns where table_schema = 'intermediate'"
            " and table_name = 'int_identity_match_pairs'"
        )
    ]  # fmt: skip
    pair = dict(zip(columns, build.one(
        "select * from intermediate.int_identity_match_pairs"
        " where record_id_l = 'crm_leads:00Qcarol' and record_id_r = 'forms:typeform:f-carol-trial'"
    ), strict=True))  # fmt: skip
    for name, value in pair.items():
        if name not in ("record_id_l", "record_id_r", "match_weight", "match_probability"):
            assert f"{name} = {value}" in text, name
    assert "same_record" in text  # the CRM lead also holds the address


def test_explain_names_the_cannot_link_decision_that_keeps_two_apart(decided):
    done = explain(decided["build"], "yan.wu1665@huatech.com", "email:YAN.WU2548@huatech.com")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "two people, kept apart by:" in text
    assert (
        f"cannot_link {YAN_1} / {YAN_2}: decision DS-1 by Li Na on 2026-11-23: "
        "two colleagues named Yan Wu share a desk phone and a laptop; it cut these links:"
    ) in text
    assert YAN_2 in text and DESK_PHONE in text and LAPTOP in text


def test_explain_names_the_detach_and_the_hub(decided):
    build = decided["build"]
    detached = explain(build, "150 1111 2222", "carol@shopmart.com").stdout
    assert (
        f"{CAROL_PHONE} is detached: decision line 4 by Wang Wei on 2026-11-23: the phone on Carol's trial form is her"
        " assistant's"
    ) in detached
    kiosk = explain(build, "xia@visitor.cn", "yang@visitor.cn").stdout
    assert "two people, kept apart by:" in kiosk
    assert "web:kiosk.1 is cut (hub_limit): hub: seen with 3 distinct email identifiers (limit 2)" in kiosk


def test_explain_says_when_two_identifiers_are_not_connected(decided):
    done = explain(decided["build"], "web:bob.device", "henry@old.cn")
    assert done.returncode == 0, done.stderr
    assert "not connected at all" in done.stdout
    unknown = explain(decided["build"], "nobody@nowhere.cn", "henry@old.cn")
    assert "email:nobody@nowhere.cn is not in the warehouse" in unknown.stdout
    waiting = explain(decided["build"], "carol@shopmart.com", "crm_lead:00Qlater").stdout
    assert "decision DS-3 (must_link) is waiting: crm_lead:00Qlater is not in the identity graph" in waiting
    assert "crm_lead:00Qlater is not in the warehouse" in waiting
    bad = explain(decided["build"], "phone:12", "henry@old.cn")
    assert bad.returncode == 2 and "not a phone number" in bad.stderr
    nowhere = explain(decided["build"], "1234.5678", "henry@old.cn")
    assert nowhere.returncode == 2
    assert "'1234.5678' is in the warehouse as none of phone:+8612345678, web:1234.5678, ga4_user:1234.5678" in (
        nowhere.stderr
    )


def test_a_bad_decision_stops_the_build_naming_its_line(tmp_path):
    bad = HEADER + (
        "BAD-1,merge,email:a@x.cn,email:b@x.cn,Li Na,typo in the kind,2026-11-23\n"
        ",must_link,email:a@x.cn,email:c@x.cn,,no author,2026-11-23\n"
        ",detach,mail:a@x.cn,,Li Na,a type that does not exist,2026-11-23\n"
        ",cannot_link,phone:12345,email:a@x.cn,Li Na,a phone too short,23.11.2026\n"
        "OK-1,cannot_link,email:a@x.cn,email:d@x.cn,Li Na,a valid row is not reported,2026-11-23\n"
    )
    project = project_copy(tmp_path, bad)
    # the seed and its tests read no lake (dbt keeps the test run's parse whatever the lake's path)
    done = run_project(project, tmp_path, tmp_path / "lake", "build", "--select", "identity_decisions", interval=None)
    assert done.returncode != 0
    out = done.stdout
    assert "seed identity_decisions (dbt_project/seeds/identity_decisions.csv) has 5 problem(s)" in out, out[-3000:]
    assert "line 2 (decision_id BAD-1): unknown kind 'merge' (expected must_link, cannot_link or detach)" in out
    assert "line 3: missing author" in out
    assert "line 4: identifier_a 'mail:a@x.cn' is malformed" in out
    assert "line 5: identifier_a 'phone:12345' is malformed" in out
    assert "line 5: decided_on '23.11.2026' is not a date YYYY-MM-DD" in out
    assert "line 6" not in out


def test_the_shipped_seed_is_empty_and_valid(warehouse):
    assert (DBT_PROJECT / "seeds" / "identity_decisions.csv").read_text(encoding="utf-8") == HEADER
    assert warehouse.query("select count(*) from intermediate.int_identity_decisions") == [(0,)]
    assert warehouse.query("select count(*) from intermediate.int_identity_decision_cuts") == [(0,)]
    statuses = {r["unique_id"]: r["status"] for r in warehouse.results() if "identity_decisions" in r["unique_id"]}
    assert statuses.get("seed.intent_warehouse.identity_decisions") == "success", statuses
    assert any(uid.startswith("test.intent_warehouse.valid_identity_decisions") and s == "pass"
               for uid, s in statuses.items()), statuses  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "nodes"),
    [
        ("email:Li.Na+saas@Gmail.com", ["email:lina@gmail.com"]),  # the canonical mailbox, like macro canonical_email
        (" Li.Na@HuaRui.cn ", ["email:li.na@huarui.cn"]),  # company domains keep their dots
        ("phone:+86 139-1234-5678", ["phone:+8613912345678"]),
        ("PHONE:139 1234 5678", ["phone:+8613912345678"]),  # China is the default region, as in the extract
        ("crm_lead: 00Qcarol", ["crm_lead:00Qcarol"]),
        ("web:1234.5678", ["web:1234.5678"]),
        ("acct_carol", ["web:acct_carol", "ga4_user:acct_carol", "crm_lead:acct_carol", "form:acct_carol"]),
        ("139 1234 5678", ["phone:+8613912345678", "web:139 1234 5678", "ga4_user:139 1234 5678",
                           "crm_lead:139 1234 5678", "form:139 1234 5678"]),
    ],
)  # fmt: skip
def test_explain_normalises_what_a_person_types(typed, nodes):
    from intent_pipeline.identity_explain import normalise_identifier

    assert normalise_identifier(typed) == nodes


@pytest.mark.parametrize(
    ("typed", "message"),
    [("email:li.na@", "not an email address"), ("phone:12", "not a phone"), ("crm_lead:", "no value after crm_lead:"),
     ("  ", "empty")],
)  # fmt: skip
def test_explain_rejects_what_is_not_an_identifier(typed, message):
    from intent_pipeline.identity_explain import ExplainError, normalise_identifier

    with pytest.raises(ExplainError, match=message):
        normalise_identifier(typed)
