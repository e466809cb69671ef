{#- One row per (record, identifier): every form submission, CRM lead, opportunity, order, web
    device/login pair and mailed address with each identifier it holds, as a graph node
    (`<type>:<value>`), when it was seen, and the seed identity_blocklist rule it matches
    (blocked_reason, null when it may link). The identity graph, its guards and their audit all
    start here.
    Incremental per record (docs/incremental.md, "Identity"): listing every record's identifiers is
    cheap, matching them against the blocklist is not. A daily run lists them all, compares each
    row's row_hash (of everything its output depends on) with the stored ones, and computes only the
    records new, changed or gone (macro identity_records_scope: their stored rows are deleted first);
    a changed fingerprint of the matcher's configuration and seeds (the blocklist among them)
    computes every record. -#}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    post_hook="{{ identity_records_kept_state() }}",
) }}

-- the seeds the fingerprint reads (identity_match_fingerprint)
-- depends_on: {{ ref('identity_match_comparisons') }}
-- depends_on: {{ ref('identity_match_free_email_domains') }}
-- depends_on: {{ ref('identity_match_pinyin') }}

{%- set keys = ['record_source', 'record_key'] -%}
{#- every record's rows without the blocklist's verdict: CTEs, the last of them listed_rows -#}
{% set listed_ctes %}
forms as (
    select * from {{ ref('stg_forms__submissions') }}
),

web_events as (
    select * from {{ ref('stg_web__events') }}
),

email_events as (
    select * from {{ ref('stg_email__events') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

web_devices as (
    -- millions of events, few distinct (device, login) pairs: link each pair once
    select
        user_pseudo_id,
        user_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from web_events
    group by user_pseudo_id, user_id
),

mailed_addresses as (
    select
        email,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from email_events
    group by email
),

record_identifiers as (
    -- one row per (record, identifier)
    select
        'forms' as record_source,
        submission_key as record_key,
        'email' as identifier_type,
        {{ node_key('email', 'email') }} as node_key,
        email as identifier_value,
        submitted_at as first_seen_at,
        submitted_at as last_seen_at
    from forms
    where email is not null

    union all

    select
        'forms',
        submission_key,
        'phone',
        {{ node_key('phone', 'phone') }},
        phone,
        submitted_at,
        submitted_at
    from forms
    where phone is not null

    union all

    -- the form's hidden client_id is the GA4 user_pseudo_id of the browser that submitted it
    select
        'forms',
        submission_key,
        'web',
        {{ node_key('web', 'client_id') }},
        client_id,
        submitted_at,
        submitted_at
    from forms
    where client_id is not null

    union all

    select
        'web',
        user_pseudo_id || '|' || coalesce(user_id, ''),
        'web',
        {{ node_key('web', 'user_pseudo_id') }},
        user_pseudo_id,
        first_seen_at,
        last_seen_at
    from web_devices

    union all

    select
        'web',
        user_pseudo_id || '|' || user_id,
        'ga4_user',
        {{ node_key('ga4_user', 'user_id') }},
        user_id,
        first_seen_at,
        last_seen_at
    from web_devices
    where user_id is not null

    union all

    select
        'email',
        email,
        'email',
        {{ node_key('email', 'email') }},
        email,
        first_seen_at,
        last_seen_at
    from mailed_addresses

    union all

    select
        'crm_leads',
        lead_id,
        'crm_lead',
        {{ node_key('crm_lead', 'lead_id') }},
        lead_id,
        created_at,
        updated_at
    from leads

    union all

    select
        'crm_leads',
        lead_id,
        'email',
        {{ node_key('email', 'email') }},
        email,
        created_at,
        updated_at
    from leads
    where email is not null

    union all

    select
        'crm_leads',
        lead_id,
        'phone',
        {{ node_key('phone', 'phone') }},
        phone,
        created_at,
        updated_at
    from leads
    where phone is not null

    union all

    select
        'crm_opportunities',
        opportunity_id,
        'crm_lead',
        {{ node_key('crm_lead', 'lead_id') }},
        lead_id,
        created_at,
        coalesce(closed_at, created_at)
    from opportunities
    where lead_id is not null

    union all

    select
        'crm_orders',
        order_id,
        'crm_lead',
        {{ node_key('crm_lead', 'lead_id') }},
        lead_id,
        ordered_at,
        ordered_at
    from orders
    where lead_id is not null

    union all

    select
        'crm_orders',
        order_id,
        'email',
        {{ node_key('email', 'email') }},
        email,
        ordered_at,
        ordered_at
    from orders
    where email is not null
),

listed_rows as (
    -- row_hash: everything the row's output depends on (blocked_reason: its type and value)
    select
        record_identifiers.*,
        {{ identity_row_hash(['record_source', 'record_key', 'identifier_type', 'node_key', 'identifier_value', 'first_seen_at', 'last_seen_at']) }} as row_hash
    from record_identifiers
)
{% endset %}

{%- set scope = {'rows': none, 'changed': none} -%}
{%- if execute and is_incremental() -%}
    {%- set scope = identity_records_scope('with ' ~ listed_ctes ~ ' select * from listed_rows', keys) -%}
{%- endif %}

with
-- a daily run's scope: this model's own inputs narrowed to what the day changed (the shape repeats, the keys differ)

{{ listed_ctes }},

identifier_rows as (
    {% if scope['rows'] is none -%}
    select * from listed_rows
    {%- else -%}
    {{ identity_rows_of_changed_records(scope['rows'], scope['changed'], keys) }}
    {%- endif %}
),

blocked as (
    {{ blocklist_reasons('identifier_rows') }}
),

final as (
    select
        identifier_rows.record_source,
        identifier_rows.record_key,
        identifier_rows.identifier_type,
        identifier_rows.node_key,
        blocked.blocked_reason,
        identifier_rows.first_seen_at,
        identifier_rows.last_seen_at,
        identifier_rows.row_hash
    -- this model's own joins (on identifier_type): a join chain alike in shape only to other models', other relations
    from identifier_rows
    left join blocked
        on blocked.identifier_type = identifier_rows.identifier_type
        and blocked.identifier_value = identifier_rows.identifier_value
)

select * from final
