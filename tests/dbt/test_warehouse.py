"""The dbt project built for real (dbt build on DuckDB) over the hand-written lake of conftest.

Expected values are worked out by hand from the default seeds (see the conftest docstring).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from intent_pipeline.dbt_errors import broken_rules, run_failures

from tests.dbt.conftest import (
    DAYS,
    DBT_PROJECT,
    INTERVAL_END,
    WITHOUT_UNIT_TESTS,
    build_lake,
    build_warehouse,
    seeds_loaded,
    write_partition,
)

pytestmark = pytest.mark.slow

PEOPLE_CONTRACT = [
    ("person_id", "VARCHAR"), ("email", "VARCHAR"), ("phone", "VARCHAR"), ("full_name", "VARCHAR"),
    ("company", "VARCHAR"), ("job_title", "VARCHAR"), ("industry", "VARCHAR"), ("company_size", "VARCHAR"),
    ("region", "VARCHAR"), ("owner", "VARCHAR"), ("crm_lead_id", "VARCHAR"), ("identifier_count", "INTEGER"),
    ("identifiers", "VARCHAR"), ("identity_confidence", "DOUBLE"), ("has_probabilistic_link", "BOOLEAN"),
    ("person_since", "DATE"), ("is_customer", "BOOLEAN"), ("is_unsubscribed", "BOOLEAN"), ("is_bounced", "BOOLEAN"),
    ("first_seen_at", "TIMESTAMP"), ("last_seen_at", "TIMESTAMP"), ("contradicting_identifiers", "INTEGER"),
    ("consent_analytics", "BOOLEAN"), ("consent_scoring", "BOOLEAN"), ("consent_crm_sync", "BOOLEAN"),
    ("consent_chat_alert", "BOOLEAN"), ("consent_email_marketing", "BOOLEAN"),
]  # fmt: skip
LEAD_SCORES_CONTRACT = [
    ("person_id", "VARCHAR"), ("grade", "VARCHAR"), ("score_reasons", "VARCHAR"), ("lead_score", "INTEGER"),
    ("fit_score", "INTEGER"), ("engagement_score", "INTEGER"), ("previous_score", "INTEGER"),
    ("became_hot_in_interval", "BOOLEAN"), ("last_activity_at", "TIMESTAMP"), ("scored_at", "TIMESTAMP"),
    ("score_reasons_zh", "VARCHAR"), ("fit_grade", "VARCHAR"), ("engagement_level", "VARCHAR"),
    ("intent_matrix_cell", "VARCHAR"), ("conversion_probability", "DOUBLE"), ("conversion_top_factors", "VARCHAR"),
    ("conversion_model_version", "VARCHAR"), ("grade_basis", "VARCHAR"), ("rule_grade", "VARCHAR"),
    ("previous_grade", "VARCHAR"),
]  # fmt: skip
SEGMENT_CONTRACT = [
    ("person_id", "VARCHAR"), ("email", "VARCHAR"), ("phone", "VARCHAR"), ("full_name", "VARCHAR"),
    ("company", "VARCHAR"), ("job_title", "VARCHAR"), ("industry", "VARCHAR"), ("owner", "VARCHAR"),
    ("crm_lead_id", "VARCHAR"), ("grade", "VARCHAR"), ("score_reasons", "VARCHAR"), ("lead_score", "INTEGER"),
    ("became_hot_in_interval", "BOOLEAN"), ("scored_at", "TIMESTAMP"), ("crm_owner_id", "VARCHAR"),
    ("owner_team", "VARCHAR"), ("owner_source", "VARCHAR"), ("score_reasons_zh", "VARCHAR"),
    ("recycled_from_owner", "VARCHAR"), ("alert_round", "INTEGER"), ("recycled_in_interval", "BOOLEAN"),
    ("merged_person_ids", "VARCHAR"), ("consent_crm_sync", "BOOLEAN"), ("consent_chat_alert", "BOOLEAN"),
]  # fmt: skip


def person_of(warehouse, node_key: str) -> str:
    """The person_id of one identifier node."""
    return warehouse.one("select person_id from intermediate.int_people_resolved where node_key = ?", node_key)[0]


def score_of(warehouse, node_key: str) -> dict:
    row = warehouse.one(
        "select lead_score, grade, score_reasons, fit_score, engagement_score, previous_score,"
        " became_hot_in_interval, scored_at from marts.lead_scores where person_id = ?",
        person_of(warehouse, node_key),
    )
    keys = ("lead_score", "grade", "score_reasons", "fit_score", "engagement_score", "previous_score",
            "became_hot_in_interval", "scored_at")  # fmt: skip
    return dict(zip(keys, row, strict=True))


def test_build_succeeds_with_unit_tests_and_data_tests(warehouse):
    assert warehouse.build.returncode == 0, warehouse.output
    results = warehouse.results()
    assert seeds_loaded(results), warehouse.output
    by_kind: dict[str, list[str]] = {}
    for result in results:
        by_kind.setdefault(result["unique_id"].split(".")[0], []).append(result["status"])
    assert len(by_kind["unit_test"]) >= 7, by_kind.keys()
    assert len(by_kind["test"]) >= 50
    models = [*(DBT_PROJECT / "models").rglob("*.sql"), *(DBT_PROJECT / "models").rglob("*.py")]
    assert len(by_kind["model"]) == len(models)  # every model (SQL and Python) was built
    assert set(by_kind["unit_test"]) == {"pass"}
    assert set(by_kind["test"]) == {"pass"}
    assert set(by_kind["model"]) == {"success"}


def test_same_phone_typed_differently_resolves_to_one_person(warehouse):
    raw_phones = warehouse.query(
        "select phone_raw, phone from read_parquet(?) union all select phone_raw, phone from read_parquet(?)",
        str(warehouse.lake / "raw" / "forms_submissions" / "dt=*" / "*.parquet"),
        str(warehouse.lake / "raw" / "crm_leads" / "dt=*" / "*.parquet"),
    )
    alice_raw = {raw for raw, e164 in raw_phones if e164 == "+8613912345678"}
    assert alice_raw == {"139-1234-5678", "+86 139 1234 5678"}  # two spellings in the lake ...
    alice = person_of(warehouse, "phone:+8613912345678")
    for node in ("email:alice.wang@huarui.cn", "email:alice@gmail.com", "crm_lead:00Qalice"):
        assert person_of(warehouse, node) == alice, node  # ... one person
    people = warehouse.one("select identifier_count, email, crm_lead_id from marts.people where person_id = ?", alice)
    assert people == (4, "alice@gmail.com", "00Qalice")  # the CRM's email wins over the form's


def test_trial_director_and_target_industry_score_exactly_60(warehouse):
    alice = score_of(warehouse, "crm_lead:00Qalice")
    assert alice["lead_score"] == 60
    assert alice["grade"] == "high_intent"
    assert alice["score_reasons"] == "trial request +30, director or above +20, target industry +10"
    assert (alice["fit_score"], alice["engagement_score"]) == (30, 30)
    assert alice["scored_at"] == INTERVAL_END


def test_became_hot_only_for_who_crossed_during_the_interval(warehouse):
    alice = score_of(warehouse, "crm_lead:00Qalice")
    # As of interval_start only her CRM lead (director, manufacturing) was known: 30.
    assert alice["previous_score"] == 30
    assert alice["became_hot_in_interval"] is True
    hot = warehouse.query("select person_id from marts.lead_scores where became_hot_in_interval")
    assert hot == [(person_of(warehouse, "crm_lead:00Qalice"),)]
    carol = score_of(warehouse, "crm_lead:00Qcarol")  # hot before the interval already
    # trial 30 + VP 20 + Retail 10 + a product page 5 (the CRM-practice rule the seed enables)
    assert (carol["previous_score"], carol["lead_score"], carol["became_hot_in_interval"]) == (65, 65, False)


def test_careers_only_visitor_is_negative_nurture(warehouse):
    bob = score_of(warehouse, "web:bob.device")
    assert (bob["lead_score"], bob["grade"], bob["score_reasons"]) == (-10, "nurture", "careers page -10")


def test_silence_and_partial_engagement_grades(warehouse):
    henry = score_of(warehouse, "email:henry@old.cn")
    assert (henry["lead_score"], henry["grade"]) == (-20, "nurture")
    assert henry["score_reasons"] == "silent 90+ days -20"
    erin = score_of(warehouse, "email:erin@school.edu")
    # 61 s on /pricing counts; her third open arrived twice but counts once (3 opens, not 4, both give +3,
    # the dedup itself is checked in test_staging_deduplicates_and_keeps_the_latest_crm_version).
    assert (erin["lead_score"], erin["grade"]) == (58, "potential")
    assert erin["score_reasons"] == ("trial request +30, pricing page +15, whitepaper +10, 3 email opens +3")


def test_segment_holds_high_intent_people_who_are_not_customers_or_opted_out(warehouse):
    high_intent = {r[0] for r in warehouse.query("select person_id from marts.lead_scores where grade = 'high_intent'")}
    alice, carol, dave = (person_of(warehouse, n) for n in ("crm_lead:00Qalice", "crm_lead:00Qcarol",
                                                             "email:dave@bank.com"))  # fmt: skip
    assert high_intent == {alice, carol, dave}
    flags = dict(
        (r[0], r[1:])
        for r in warehouse.query("select person_id, is_customer, is_unsubscribed, is_bounced from marts.people")
    )
    assert flags[carol] == (True, False, False)  # won opportunity and an order
    assert flags[dave] == (False, True, False)  # unsubscribed
    segment = warehouse.query("select person_id, email, lead_score, grade, became_hot_in_interval, crm_lead_id"
                              " from marts.segment_high_intent")  # fmt: skip
    assert segment == [(alice, "alice@gmail.com", 60, "high_intent", True, "00Qalice")]
    # the customer and the unsubscriber were high intent (lead routing assigned them), left the
    # segment, and are CRM updates: a CRM that holds them learns why they are gone
    updates = warehouse.query("select person_id from marts.segment_crm_updates order by person_id")
    assert {r[0] for r in updates} == {carol, dave}


@pytest.mark.parametrize(
    ("table", "contract"),
    [("people", PEOPLE_CONTRACT), ("lead_scores", LEAD_SCORES_CONTRACT), ("segment_high_intent", SEGMENT_CONTRACT)],
)
def test_mart_columns_and_types_follow_the_contract(warehouse, table, contract):
    columns = warehouse.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = ? order by ordinal_position",
        table,
    )
    assert columns == contract


def test_blocklisted_identifiers_do_not_glue_strangers(warehouse):
    frank = person_of(warehouse, "phone:+8613755512345")
    grace = person_of(warehouse, "phone:+8618655523456")
    assert frank != grace  # both typed info@acme-retail.com
    assert warehouse.query("select count(*) from intermediate.int_people_resolved where node_key like '%info@%'") == [
        (0,)
    ]
    emails = dict(warehouse.query("select person_id, email from marts.people where person_id in (?, ?)", frank, grace))
    assert emails == {frank: None, grace: None}  # a shared mailbox is nobody's address
    assert person_of(warehouse, "email:ivan@one.com") != person_of(warehouse, "email:judy@two.com")  # 138 0000 0000
    people = warehouse.one("select count(*), count(distinct person_id) from marts.people")
    assert people == (10, 10)


def test_staging_deduplicates_and_keeps_the_latest_crm_version(warehouse):
    raw = warehouse.one(
        "select count(*) filter (where sg_event_id = 'e-erin-3') from read_parquet(?)",
        str(warehouse.lake / "raw" / "email_events" / "dt=*" / "*.parquet"),
    )
    assert raw == (2,)
    assert warehouse.one("select count(*) from staging.stg_email__events where sg_event_id = 'e-erin-3'") == (1,)
    assert warehouse.one("select count(*) from staging.stg_web__events where event_id = 'w-bob-1'") == (1,)
    assert warehouse.one("select job_title, status from staging.stg_crm__leads where lead_id = '00Qcarol'") == (
        "VP Sales",
        "Converted",
    )
    carol = person_of(warehouse, "crm_lead:00Qcarol")
    assert warehouse.one("select job_title, owner from marts.people where person_id = ?", carol) == (
        "VP Sales",
        "Emily Chen",
    )
    opportunity = warehouse.one("select stage, is_won from staging.stg_crm__opportunities")
    assert opportunity == ("Closed Won", True)
    activities = warehouse.query(
        "select activity_id, lead_id, activity_type, subject, owner, activity_at, _interval_start"
        " from staging.stg_crm__activities order by activity_id"
    )
    assert activities == [
        ("00Tcarol1", "00Qcarol", "call", "Intro call: wants a CDP demo", "Emily Chen", datetime(2026, 11, 1, 10),
         DAYS[1]),
        ("00Tcarol2", "00Qcarol", "meeting", "产品演示会议", "Emily Chen", datetime(2026, 11, 6, 6), DAYS[1]),
    ]  # fmt: skip


def test_forms_are_typed_by_the_seed_patterns(warehouse):
    types = dict(warehouse.query("select form_name, form_type from staging.stg_forms__submissions"))
    assert types["免费试用申请"] == "trial_request"
    assert types["Free Trial"] == "trial_request"
    assert types["Whitepaper: Retail AI"] == "whitepaper_download"
    assert types["Product Brochure"] == "brochure_download"
    assert types["联系我们"] == "contact_us"


def test_funnel_counts_and_attribution(warehouse):
    funnel = warehouse.query(
        "select stage, people from marts.funnel_conversion where breakdown = 'overall' order by stage_order"
    )
    # everyone submitted a form or engaged > 30 s (Bob: 40 s on careers); mql: Alice and Dave in the only
    # snapshot, Carol when her CRM lead was created with 60+ points (11-01), before her opportunity and
    # her win (tests/dbt/test_funnel_marts.py)
    assert funnel == [("awareness", 10), ("engaged", 10), ("mql", 3), ("sql", 1), ("won", 1)]
    attribution = warehouse.query(
        "select attribution_model, channel, conversions, credit, revenue from marts.channel_attribution"
        " where attribution_model in ('first_touch', 'last_touch') order by 1"
    )
    # Carol's touches in the 30 days before her win: form via google (11-01), ad click with gclid (11-12),
    # baidu visit (11-13), newsletter click (11-18); the other models: tests/dbt/test_attribution_marts.py
    assert attribution == [
        ("first_touch", "Organic Search", 1, 1.0, 150000.0),
        ("last_touch", "Email", 1, 1.0, 150000.0),
    ]


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory):
    """The same lake plus one GA4 row without event_id and user_pseudo_id (two rules of one error
    column_rules test) and one CRM activity of a type the project does not know (a warn rule): the
    first must stop the build, the second only warn."""
    base = tmp_path_factory.mktemp("dbt_broken")
    lake = base / "lake"
    build_lake(lake)
    planted = {"event_id": None, "event_name": "page_view", "user_pseudo_id": None,
               "event_at": datetime(2026, 11, 19, 1)}  # fmt: skip
    write_partition(lake, "web_events", date(2026, 11, 19), [planted])
    webinar = {"activity_id": "00Tplanted", "lead_id": "00Qcarol", "activity_type": "Webinar", "subject": "x",
               "owner": "Emily Chen", "activity_at": datetime(2026, 11, 19, 2)}  # fmt: skip
    write_partition(lake, "crm_activities", date(2026, 11, 19), [webinar])
    return build_warehouse(base, lake, *WITHOUT_UNIT_TESTS)


def test_planted_violation_fails_the_build(broken_build):
    assert broken_build.build.returncode != 0, broken_build.output
    assert seeds_loaded(broken_build.results()), broken_build.output
    status = {r["unique_id"]: r["status"] for r in broken_build.results()}
    failed = [node for node, s in status.items() if s in ("fail", "error")]
    assert len(failed) == 1, failed
    # one node checks every column rule of stg_web__events (macros/generic_tests.sql, column_rules)
    assert failed[0].startswith("test.intent_warehouse.column_rules_stg_web__events_"), failed
    assert status["model.intent_warehouse.people"] == "skipped"  # nothing downstream is built on bad data


def test_a_failed_column_rules_test_names_each_broken_column_and_rule(broken_build):
    """dbt only counts the rows a test returns; the DAG's error message (dbt_errors) reads them back:
    each broken rule on its own line, with its column and how many rows break it."""
    (failure,) = run_failures(broken_build.base / "target", 0, broken_build.warehouse)
    lines = failure.splitlines()
    assert lines[0].startswith("test.intent_warehouse.column_rules_stg_web__events_") and ": fail — " in lines[0]
    assert [line.strip() for line in lines[1:]] == [
        "event_id: not_null broken by 1 row",
        "user_pseudo_id: not_null broken by 1 row",
    ], failure


def test_a_broken_warn_rule_warns_in_its_own_test_and_names_the_value(broken_build):
    """Severity stays per rule: the warn rules of a model are a column_rules test of their own, which
    warns (the build goes on past it) and names the column, the rule and a sample value."""
    (warned,) = [r for r in broken_build.results()
                 if r["unique_id"].startswith("test.intent_warehouse.column_rules_stg_crm__activities_")
                 and r["status"] == "warn"]  # fmt: skip
    assert broken_rules(warned["compiled_code"], broken_build.warehouse) == [
        "activity_type: accepted_values broken by 1 row (e.g. 'webinar')"
    ]


@pytest.mark.parametrize("value", ["2026-11-22' as timestamp) --", "22/11/2026"])
def test_an_interval_that_is_not_an_iso_timestamp_stops_the_build_before_any_sql(warehouse, tmp_path, value):
    """The interval is written into SQL: a hostile or mistyped INTENT_INTERVAL_END never reaches it."""
    from tests.dbt.conftest import run_dbt

    done = run_dbt(tmp_path, warehouse.lake, "compile", "--select", "int_score_points",
                   extra_env={"INTENT_INTERVAL_END": value})  # fmt: skip
    assert done.returncode != 0
    message = "interval_end (var or INTENT_INTERVAL_END) must be an ISO date or timestamp"
    assert message in done.stdout, done.stdout[-3000:]
