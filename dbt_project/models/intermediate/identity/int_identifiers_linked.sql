{#- Edges of the identity graph. Every record (a form submission, a CRM lead, an order, a web
    device/login pair, a mailed address) links the identifiers it holds. Identifiers listed in the
    seed identity_blocklist (role mailboxes, placeholder phones) are left out so they cannot glue
    strangers together. A record links its identifiers as a star around its smallest node (same
    connectivity as all pairs, fewer edges); the self edge of that node keeps single-identifier
    records in the graph. -#}
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
        {{ is_blocked_identifier('email', 'email') }} as is_blocked,
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
        {{ is_blocked_identifier('phone', 'phone') }},
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
        false,
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
        false,
        first_seen_at,
        last_seen_at
    from web_devices

    union all

    select
        'web',
        user_pseudo_id || '|' || user_id,
        'ga4_user',
        {{ node_key('ga4_user', 'user_id') }},
        false,
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
        {{ is_blocked_identifier('email', 'email') }},
        first_seen_at,
        last_seen_at
    from mailed_addresses

    union all

    select
        'crm_leads',
        lead_id,
        'crm_lead',
        {{ node_key('crm_lead', 'lead_id') }},
        false,
        created_at,
        updated_at
    from leads

    union all

    select
        'crm_leads',
        lead_id,
        'email',
        {{ node_key('email', 'email') }},
        {{ is_blocked_identifier('email', 'email') }},
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
        {{ is_blocked_identifier('phone', 'phone') }},
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
        false,
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
        false,
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
        {{ is_blocked_identifier('email', 'email') }},
        ordered_at,
        ordered_at
    from orders
    where email is not null
),

kept_identifiers as (
    select * from record_identifiers
    where not is_blocked
),

form_fallbacks as (
    -- a submission whose only identifiers are shared placeholders is a person of its own
    select
        'forms' as record_source,
        forms.submission_key as record_key,
        'form' as identifier_type,
        {{ node_key('form', 'forms.submission_key') }} as node_key,
        false as is_blocked,
        forms.submitted_at as first_seen_at,
        forms.submitted_at as last_seen_at
    from forms
    where not exists (
        select 1
        from kept_identifiers
        where kept_identifiers.record_source = 'forms'
            and kept_identifiers.record_key = forms.submission_key
    )
),

record_nodes as (
    select * from kept_identifiers
    union all
    select * from form_fallbacks
),

anchored as (
    select
        record_nodes.*,
        min(node_key) over (partition by record_source, record_key) as anchor_key
    from record_nodes
),

final as (
    select
        anchor_key as node_a,
        node_key as node_b,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as record_count
    from anchored
    group by anchor_key, node_key
)

select * from final
