{#- One row per (record, identifier): every form submission, CRM lead, opportunity, order, web
    device/login pair and mailed address with each identifier it holds, as a graph node
    (`<type>:<value>`), when it was seen, and the seed identity_blocklist rule it matches
    (blocked_reason, null when it may link). The identity graph, its guards and their audit all
    start here. -#}
with

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
        {{ blocklist_reason('email', 'email') }} as blocked_reason,
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
        {{ blocklist_reason('phone', 'phone') }},
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
        {{ blocklist_reason('web', 'client_id') }},
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
        {{ blocklist_reason('web', 'user_pseudo_id') }},
        first_seen_at,
        last_seen_at
    from web_devices

    union all

    select
        'web',
        user_pseudo_id || '|' || user_id,
        'ga4_user',
        {{ node_key('ga4_user', 'user_id') }},
        {{ blocklist_reason('ga4_user', 'user_id') }},
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
        {{ blocklist_reason('email', 'email') }},
        first_seen_at,
        last_seen_at
    from mailed_addresses

    union all

    select
        'crm_leads',
        lead_id,
        'crm_lead',
        {{ node_key('crm_lead', 'lead_id') }},
        {{ blocklist_reason('crm_lead', 'lead_id') }},
        created_at,
        updated_at
    from leads

    union all

    select
        'crm_leads',
        lead_id,
        'email',
        {{ node_key('email', 'email') }},
        {{ blocklist_reason('email', 'email') }},
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
        {{ blocklist_reason('phone', 'phone') }},
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
        {{ blocklist_reason('crm_lead', 'lead_id') }},
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
        {{ blocklist_reason('crm_lead', 'lead_id') }},
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
        {{ blocklist_reason('email', 'email') }},
        ordered_at,
        ordered_at
    from orders
    where email is not null
)

select * from record_identifiers
