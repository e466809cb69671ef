"""Contract-shaped test data for the quality gates: raw partitions (Parquet) and marts (DuckDB).

The column lists are copied from docs/contracts.md on purpose: the tests check the suites
against the contract, not against the code that writes the lake.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

INTERVAL = date(2026, 11, 21)
LOADED_AT = datetime(2026, 11, 22, 0, 5)

S, INT, F, B, T, D = "string", "int64", "double", "bool", "timestamp", "date"
META = [("_source_file", S), ("_row_number", INT), ("_loaded_at", T), ("_batch_id", S), ("_interval_start", D)]

RAW_SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "forms_submissions": [
        *[(c, S) for c in "submission_id form_tool form_name full_name email phone phone_raw company job_title "
          "industry company_size lead_source client_id".split()],
        ("submitted_at", T), ("consent", S),
    ],
    "email_events": [
        *[(c, S) for c in "sg_event_id sg_message_id event email url useragent ip reason status bounce_type "
          "categories marketing_campaign_id".split()],
        ("event_at", T),
    ],
    "web_events": [
        *[(c, S) for c in "event_id event_name user_pseudo_id user_id page_location page_title page_referrer "
          "first_user_source first_user_medium first_user_campaign source medium campaign gclid device_category "
          "country city event_params".split()],
        ("ga_session_id", INT), ("engagement_time_msec", INT), ("event_date", D), ("event_at", T),
        ("analytics_storage", S),
    ],
    "crm_leads": [
        *[(c, S) for c in "lead_id email phone phone_raw full_name company job_title industry company_size region "
          "owner status lead_source".split()],
        ("created_at", T), ("updated_at", T), ("email_opt_out", S),
    ],
    "crm_opportunities": [
        *[(c, S) for c in "opportunity_id lead_id opportunity_name stage currency".split()],
        ("amount", F), ("is_closed", B), ("is_won", B), ("created_at", T), ("closed_at", T),
        ("stage_changed_at", T),
    ],
    "crm_orders": [*[(c, S) for c in "order_id lead_id email currency".split()], ("amount", F), ("ordered_at", T)],
    "crm_activities": [*[(c, S) for c in "activity_id lead_id activity_type subject owner".split()],
                       ("activity_at", T)],
}  # fmt: skip

SOURCE_OF = {
    "forms_submissions": "forms/dt=2026-11-21/jinshuju.csv",
    "email_events": "email/dt=2026-11-21/webhook-0001.json",
    "web_events": "web/dt=2026-11-21/events_20261121.jsonl",
    "crm_leads": "crm/dt=2026-11-21/leads.csv",
    "crm_opportunities": "crm/dt=2026-11-21/opportunities.csv",
    "crm_orders": "crm/dt=2026-11-21/orders.csv",
    "crm_activities": "crm/dt=2026-11-21/activities.csv",
}


def clean_raw_rows() -> dict[str, list[dict]]:
    """A few realistic rows per raw table that satisfy every expectation (critical and warning)."""
    t = datetime(2026, 11, 20, 9, 30)
    return {
        "forms_submissions": [
            {"submission_id": "1", "form_tool": "jinshuju", "form_name": "免费试用申请", "full_name": "王芳",
             "email": "wang.fang@example.cn", "phone": "+8613800138000", "phone_raw": "138-0013-8000",
             "company": "星辰零售", "job_title": "市场总监", "industry": "零售", "company_size": "200-499人",
             "lead_source": "baidu", "client_id": "123.456", "submitted_at": t},
            {"submission_id": "2", "form_tool": "typeform", "form_name": "Book a Demo", "full_name": "Li Lei",
             "email": None, "phone": None, "phone_raw": "12345", "submitted_at": datetime(2026, 6, 1, 2, 0)},
            {"submission_id": "3", "form_tool": "hubspot_forms", "form_name": "Whitepaper: Retail AI",
             "email": "li@example.com", "submitted_at": datetime(2026, 11, 21, 23, 59)},
        ],
        "email_events": [
            {"sg_event_id": "ZGVsaXZlcmVkLTAtMTIz", "sg_message_id": "abc.filterdrecv-1.0", "event": "delivered",
             "email": "wang.fang@example.cn", "categories": '["newsletter"]', "event_at": t},
            {"sg_event_id": "b3Blbi0wLTEyMw", "sg_message_id": "abc.filterdrecv-1.0", "event": "open",
             "email": "wang.fang@example.cn", "ip": "1.2.3.4", "event_at": t},
            {"sg_event_id": "Ym91bmNlLTAtMTIz", "sg_message_id": "def.filterdrecv-1.0", "event": "bounce",
             "email": "invalid@invalid", "bounce_type": "bounce", "status": "5.1.1", "event_at": t},
        ],
        "web_events": [
            {"event_id": "a" * 40, "event_name": "page_view", "user_pseudo_id": "123.456",
             "page_location": "https://example.com/pricing", "device_category": "desktop", "ga_session_id": 1763600000,
             "engagement_time_msec": 65000, "event_date": date(2026, 11, 20), "event_at": t},
            {"event_id": "b" * 40, "event_name": "session_start", "user_pseudo_id": "123.456",
             "device_category": "mobile", "event_date": date(2026, 11, 20), "event_at": t},
        ],
        "crm_leads": [
            {"lead_id": "00Q5g0000AAAAAA", "email": "wang.fang@example.cn", "phone": "+8613800138000",
             "phone_raw": "13800138000", "full_name": "王芳", "status": "Working", "created_at": t, "updated_at": t},
            {"lead_id": "00Q5g0000AAAAAB", "email": None, "status": "New", "created_at": datetime(2026, 5, 25)},
        ],
        "crm_opportunities": [
            {"opportunity_id": "0065g0000AAAAAA", "lead_id": "00Q5g0000AAAAAA", "stage": "Closed Won",
             "currency": "CNY", "amount": 120000.0, "is_closed": True, "is_won": True, "created_at": t,
             "closed_at": datetime(2026, 11, 21, 8), "stage_changed_at": datetime(2026, 11, 21, 8)},
            {"opportunity_id": "0065g0000AAAAAB", "lead_id": "00Q5g0000AAAAAA", "stage": "Prospecting",
             "currency": "USD", "amount": None, "is_closed": False, "is_won": False, "created_at": t,
             "closed_at": datetime(2027, 3, 31)},  # an open deal's expected close date lies ahead
        ],
        "crm_orders": [
            {"order_id": "8015g0000AAAAAA", "lead_id": "00Q5g0000AAAAAA", "email": "wang.fang@example.cn",
             "currency": "CNY", "amount": 120000.0, "ordered_at": t},
        ],
        "crm_activities": [
            {"activity_id": "00T5g0000AAAAAA", "lead_id": "00Q5g0000AAAAAA", "activity_type": "Call",
             "subject": "首次电话沟通", "owner": "Alice", "activity_at": datetime(2026, 11, 20, 11, 0)},
            {"activity_id": "00T5g0000AAAAAB", "lead_id": "00Q5g0000AAAAAB", "activity_type": "Email",
             "subject": None, "owner": "Alice", "activity_at": datetime(2026, 5, 26, 1, 0)},
        ],
    }  # fmt: skip


def _arrow_type(kind: str):
    import pyarrow as pa

    return {S: pa.string(), INT: pa.int64(), F: pa.float64(), B: pa.bool_(), T: pa.timestamp("us"), D: pa.date32()}[
        kind
    ]


def raw_table(table: str, rows: list[dict], *, drop_columns=()):
    """Rows (missing columns null, metadata filled in) as an Arrow table of ``table``'s raw columns."""
    import pyarrow as pa

    columns = [*RAW_SCHEMAS[table], ("extra", S), *META]
    full = []
    for number, row in enumerate(rows, 1):
        full.append({
            "_source_file": SOURCE_OF[table], "_row_number": number, "_loaded_at": LOADED_AT,
            "_batch_id": "test/run", "_interval_start": INTERVAL, **row,
        })  # fmt: skip
    schema = pa.schema([pa.field(name, _arrow_type(kind)) for name, kind in columns if name not in drop_columns])
    return pa.Table.from_pydict({name: [row.get(name) for row in full] for name in schema.names}, schema=schema)


def raw_partition_folder(lake_dir: Path, table: str) -> Path:
    folder = lake_dir / "raw" / table / f"dt={INTERVAL.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_raw_partition(lake_dir: Path, table: str, rows: list[dict], *, drop_columns=()) -> Path:
    """Write rows (missing columns null, metadata filled in) as the interval's partition of ``table``."""
    import pyarrow.parquet as pq

    path = raw_partition_folder(lake_dir, table) / "part-0.parquet"
    pq.write_table(raw_table(table, rows, drop_columns=drop_columns), path)
    return path


def write_clean_lake(lake_dir: Path, overrides: dict[str, list[dict]] | None = None) -> dict[str, list[dict]]:
    """Every raw table's partition of INTERVAL; ``overrides`` replaces a table's rows."""
    rows = {**clean_raw_rows(), **(overrides or {})}
    for table, table_rows in rows.items():
        write_raw_partition(lake_dir, table, table_rows)
    return rows


MARTS_DDL = {
    "people": """create table marts.people (
        person_id varchar, email varchar, phone varchar, full_name varchar, company varchar, job_title varchar,
        industry varchar, company_size varchar, region varchar, owner varchar, crm_lead_id varchar,
        identifier_count integer, is_customer boolean, is_unsubscribed boolean, is_bounced boolean,
        first_seen_at timestamp, last_seen_at timestamp, contradicting_identifiers integer)""",
    "lead_scores": """create table marts.lead_scores (
        person_id varchar, grade varchar, score_reasons varchar, lead_score integer, fit_score integer,
        engagement_score integer, previous_score integer, became_hot_in_interval boolean,
        last_activity_at timestamp, scored_at timestamp, score_reasons_zh varchar, fit_grade varchar,
        engagement_level varchar, intent_matrix_cell varchar, conversion_probability double,
        conversion_top_factors varchar, conversion_model_version varchar, grade_basis varchar,
        rule_grade varchar, previous_grade varchar)""",
    "segment_high_intent": """create table marts.segment_high_intent (
        person_id varchar, email varchar, phone varchar, full_name varchar, company varchar, job_title varchar,
        industry varchar, owner varchar, crm_lead_id varchar, grade varchar, score_reasons varchar,
        lead_score integer, became_hot_in_interval boolean, scored_at timestamp, crm_owner_id varchar,
        owner_team varchar, owner_source varchar, score_reasons_zh varchar, recycled_from_owner varchar,
        alert_round integer, recycled_in_interval boolean)""",
    "funnel_conversion": """create table marts.funnel_conversion (
        breakdown varchar, cohort_week date, channel varchar, industry varchar, grade varchar, stage varchar,
        stage_order integer, entered integer, people integer, conversion_from_previous double,
        conversion_from_first double, median_hours_from_previous double, median_hours_from_first double)""",
    "channel_attribution": """create table marts.channel_attribution (
        attribution_model varchar, channel varchar, conversions double, credit double, revenue double)""",
    "segment_funnel_stalls": """create table marts.segment_funnel_stalls (
        stall_id varchar, person_id varchar, rule_id varchar, stage varchar, stall_reason varchar,
        stall_reason_zh varchar, opportunity_id varchar, opportunity_stage varchar, in_stage_since timestamp,
        stalled_at timestamp, hours_in_stage double, max_hours double, became_stalled_in_interval boolean,
        as_of_at timestamp, email varchar, phone varchar, full_name varchar, company varchar, job_title varchar,
        owner varchar, crm_lead_id varchar, is_customer boolean, is_unsubscribed boolean, lead_score integer,
        grade varchar, score_reasons varchar, score_reasons_zh varchar)""",
    "funnel_stages": """create table marts.funnel_stages (
        person_id varchar, attempt_number integer, entered_at timestamp, window_end_at timestamp,
        awareness_at timestamp, engaged_at timestamp, mql_at timestamp, sql_at timestamp, won_at timestamp,
        hours_to_engaged double, hours_to_mql double, hours_to_sql double, hours_to_won double,
        furthest_step varchar, furthest_step_order integer, is_excluded boolean, excluded_by varchar,
        excluded_at timestamp)""",
    "attribution_conversion_credits": """create table marts.attribution_conversion_credits (
        attribution_model varchar, conversion_id varchar, person_id varchar, converted_at timestamp,
        channel varchar, campaign varchar, touches integer, credit double, credited_value double)""",
    "activation_runs": """create table marts.activation_runs (
        run_id varchar, destination varchar, execution bigint, destination_name varchar, interval_start date,
        started_at timestamp, finished_at timestamp, mode varchar, planned bigint, sent_ok bigint, unchanged bigint,
        rejected bigint, invalid bigint, deferred bigint, dead_lettered bigint, stale bigint, requests bigint,
        error varchar, rows_due bigint, rows_refused bigint, destination_dead_letters_now bigint, reject_share double,
        is_latest_run boolean)""",
}
# the people who left the segment: the same columns (int_activation_leads)
MARTS_DDL["segment_crm_updates"] = MARTS_DDL["segment_high_intent"].replace(
    "segment_high_intent", "segment_crm_updates"
)

SCORED_AT = "timestamp '2026-11-22 00:00:00'"
CLEAN_MARTS_SQL = [
    """insert into marts.people values
        ('p_001', 'wang.fang@example.cn', '+8613800138000', '王芳', '星辰零售', '市场总监', '零售', '200-499',
         'East', 'Alice', '00Q5g0000AAAAAA', 4, false, false, false,
         timestamp '2026-05-25 03:00:00', timestamp '2026-11-21 09:30:00', 0),
        ('p_002', 'li@example.com', null, 'Li Lei', null, null, null, null, null, null, null, 1, false, false, false,
         timestamp '2026-06-01 02:00:00', timestamp '2026-11-20 10:00:00', 0),
        ('p_003', null, '+8613900139000', null, null, null, null, null, null, null, '00Q5g0000AAAAAB', 2,
         true, false, false, timestamp '2026-07-01 02:00:00', timestamp '2026-10-01 10:00:00', 0)""",
    f"""insert into marts.lead_scores values
        ('p_001', 'high_intent', 'trial request +30, director or above +20, pricing page 2× +15', 65, 20, 45,
         40, true, timestamp '2026-11-21 09:30:00', {SCORED_AT}, '申请试用 +30，总监及以上 +20，价格页 2× +15',
         'B', '1', 'B1', 0.41, 'rule:trial_request +0.92', 'lcm-20261122T000000-0123abcd', 'lead_score',
         'high_intent', 'potential'),
        ('p_002', 'potential', 'webinar +8, target industry +10, brochure +5, whitepaper +10', 33, 10, 23, 33,
         false, timestamp '2026-11-20 10:00:00', {SCORED_AT},
         '研讨会报名 +8，目标行业 +10，产品手册 +5，行业白皮书 +10', 'B', '2', 'B2', 0.12, null,
         'lcm-20261122T000000-0123abcd', 'lead_score', 'potential', 'potential'),
        ('p_003', 'nurture', 'careers page -10', -10, 0, -10, null, false,
         timestamp '2026-10-01 10:00:00', {SCORED_AT}, '访问招聘页 -10', 'C', '3', 'C3', null, null, null,
         'lead_score', 'nurture', 'nurture')""",
    f"""insert into marts.segment_high_intent values
        ('p_001', 'wang.fang@example.cn', '+8613800138000', '王芳', '星辰零售', '市场总监', '零售', 'Alice',
         '00Q5g0000AAAAAA', 'high_intent', 'trial request +30; director or above +20; pricing page >60 s +15',
         65, true, {SCORED_AT}, null, null, 'crm_owner', '申请试用 +30，总监及以上 +20，价格页 +15', null, 0,
         false)""",
    """insert into marts.funnel_conversion values
        ('overall', null, null, null, null, 'awareness', 1, 3, 3, 1.0, 1.0, null, 0.0),
        ('overall', null, null, null, null, 'engaged', 2, 3, 2, 0.6667, 0.6667, 2.5, 2.5),
        ('overall', null, null, null, null, 'mql', 3, 3, 1, 0.5, 0.3333, 30.0, 32.5),
        ('overall', null, null, null, null, 'sql', 4, 3, 1, 1.0, 0.3333, 48.0, 80.5),
        ('overall', null, null, null, null, 'won', 5, 3, 1, 1.0, 0.3333, 240.0, 320.5),
        ('cohort_week', date '2026-11-16', null, null, null, 'awareness', 1, 3, 3, 1.0, 1.0, null, 0.0),
        ('cohort_week', date '2026-11-16', null, null, null, 'engaged', 2, 3, 2, 0.6667, 0.6667, 2.5, 2.5),
        ('cohort_week', date '2026-11-16', null, null, null, 'mql', 3, 3, 1, 0.5, 0.3333, 30.0, 32.5),
        ('cohort_week', date '2026-11-16', null, null, null, 'sql', 4, 3, 1, 1.0, 0.3333, 48.0, 80.5),
        ('cohort_week', date '2026-11-16', null, null, null, 'won', 5, 3, 1, 1.0, 0.3333, 240.0, 320.5)""",
    """insert into marts.channel_attribution values
        ('first_touch', 'paid_search', 1, 1.0, 120000), ('last_touch', 'email', 0.5, 0.5, 60000),
        ('last_touch', 'direct', 0.5, 0.5, 60000)""",
    # p_002 cooled to potential; p_003 became a customer and cooled below 0 (a score can be negative)
    f"""insert into marts.segment_crm_updates values
        ('p_002', 'li@example.com', null, 'Li Lei', null, null, null, '李娜', null, 'potential',
         'webinar +8, target industry +10, brochure +5, whitepaper +10', 33, false, {SCORED_AT}, '70003', 'east',
         'round_robin', '研讨会报名 +8，目标行业 +10，产品手册 +5，行业白皮书 +10', null, 0, false),
        ('p_003', null, '+8613900139000', null, null, null, null, 'Emily Chen', '00Q5g0000AAAAAB', 'nurture',
         'careers page -10', -10, false, {SCORED_AT}, '70004', 'east', 'round_robin', '访问招聘页 -10',
         '王磊', 1, false)""",
    # an opportunity 96 h in Proposal (max 72) and 3 brochures without a pricing inquiry for 38 h (max 24)
    """insert into marts.segment_funnel_stalls values
        ('opportunity_in_proposal:p_001:0065g0000AAAAAB', 'p_001', 'opportunity_in_proposal', 'sql',
         'open opportunity in a proposal or quotation stage for more than 72 hours',
         '商机在方案/报价阶段超过72小时未推进',
         '0065g0000AAAAAB', 'Proposal', timestamp '2026-11-18 00:00:00', timestamp '2026-11-21 00:00:00', 96.0, 72.0,
         true, timestamp '2026-11-22 00:00:00', 'wang.fang@example.cn', '+8613800138000', '王芳', '星辰零售',
         '市场总监', 'Alice', '00Q5g0000AAAAAA', false, false, 65, 'high_intent',
         'trial request +30, director or above +20, pricing page 2× +15',
         '申请试用 +30，总监及以上 +20，价格页 2× +15'),
        ('brochures_without_pricing:p_002', 'p_002', 'brochures_without_pricing', 'engaged',
         '3 brochure downloads and no pricing inquiry within 24 hours of the third',
         '下载3次产品手册后24小时内未询价',
         null, null, timestamp '2026-11-20 10:00:00', timestamp '2026-11-21 10:00:00', 38.0, 24.0, true,
         timestamp '2026-11-22 00:00:00', 'li@example.com', null, 'Li Lei', null, null, null, null, false, false,
         33, 'potential', 'webinar +8, target industry +10, brochure +5, whitepaper +10', null)""",
    # p_001 won within the window; p_002's attempt was excluded; p_003 never entered (attempt_number null)
    """insert into marts.funnel_stages values
        ('p_001', 1, timestamp '2026-11-16 09:00:00', timestamp '2027-02-14 09:00:00',
         timestamp '2026-11-16 09:00:00', timestamp '2026-11-16 11:30:00', timestamp '2026-11-17 18:00:00',
         timestamp '2026-11-19 18:00:00', timestamp '2026-11-21 08:00:00', 2.5, 30.5, 48.0, 38.0,
         'won', 5, false, null, null),
        ('p_002', 1, timestamp '2026-11-17 10:00:00', timestamp '2027-02-15 10:00:00',
         timestamp '2026-11-17 10:00:00', timestamp '2026-11-17 12:30:00', null, null, null, 2.5, null, null, null,
         'engaged', 2, true, 'careers_visitor', timestamp '2026-11-18 09:00:00'),
        ('p_003', null, null, null, null, null, null, null, null, null, null, null, null, null, null, false, null,
         null)""",
    # order o_1 of p_001: first touch all to Paid Search; linear over four touches (two Paid Search, two Email)
    """insert into marts.attribution_conversion_credits values
        ('first_touch', 'o_1', 'p_001', timestamp '2026-11-21 08:00:00', 'Paid Search', 'brand_cn', 1, 1.0, 120000),
        ('linear', 'o_1', 'p_001', timestamp '2026-11-21 08:00:00', 'Paid Search', 'brand_cn', 2, 0.5, 60000),
        ('linear', 'o_1', 'p_001', timestamp '2026-11-21 08:00:00', 'Email', null, 1, 0.25, 30000),
        ('linear', 'o_1', 'p_001', timestamp '2026-11-21 08:00:00', 'Email', 'newsletter_nov', 1, 0.25, 30000)""",
    """insert into marts.activation_runs values
        ('scheduled__2026-11-20', 'hubspot@ab12', 1, 'hubspot', date '2026-11-20', timestamp '2026-11-21 00:05:00',
         timestamp '2026-11-21 00:05:09', 'http', 12, 10, 1, 1, 0, 0, 0, 0, 1, null, 11, 1, 0, 0.0909, true)""",
]


def build_warehouse(path: Path, *, extra_sql: list[str] = (), skip: tuple[str, ...] = ()) -> Path:
    """A DuckDB file with ``create schema marts`` and the contract's marts, clean rows, then ``extra_sql``."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        for table, ddl in MARTS_DDL.items():
            if table not in skip:
                con.execute(ddl)
        for sql in CLEAN_MARTS_SQL:
            table = sql.split("marts.", 1)[1].split()[0]
            if table not in skip:
                con.execute(sql)
        for sql in extra_sql:
            con.execute(sql)
    finally:
        con.close()
    return path
