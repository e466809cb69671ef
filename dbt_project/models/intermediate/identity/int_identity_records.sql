{#- The records probabilistic matching compares, one per form submission and CRM lead, in the
    record interface of the matcher (macro identity_match_config): record_id, first_name, last_name, full_name,
    email, phone, company, city, dob (YYYY-MM-DD or another layout date_parts reads), national_id
    (any national or tax id, compared as typed). No source of ours carries dob or national_id yet:
    a source that does maps them in `profiles`. Emails and phones the guards cut (placeholders, hubs) are
    blanked: a shared mailbox is evidence of a shared company, not of one person. node_key is the
    record's anchor in the graph, where an accepted match adds its edge. -#}
with

forms as (
    select * from {{ ref('stg_forms__submissions') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

cut as (
    select * from {{ ref('int_identity_links_cut') }}
),

anchors as (
    select distinct
        record_source,
        record_key,
        anchor_key
    from {{ ref('int_identity_record_nodes') }}
),

profiles as (
    select
        'forms' as record_source,
        submission_key as record_key,
        full_name,
        email,
        phone,
        company,
        cast(null as {{ sql_type('varchar') }}) as city,
        -- no form of ours asks for these; a source that carries them maps them here
        cast(null as {{ sql_type('varchar') }}) as dob,
        cast(null as {{ sql_type('varchar') }}) as national_id,
        submitted_at as observed_at
    from forms

    union all

    select
        'crm_leads',
        lead_id,
        full_name,
        email,
        phone,
        company,
        region,
        cast(null as {{ sql_type('varchar') }}),
        cast(null as {{ sql_type('varchar') }}),
        coalesce(updated_at, created_at)
    from leads
),

final as (
    select
        profiles.record_source || ':' || profiles.record_key as record_id,
        anchors.anchor_key as node_key,
        profiles.record_source,
        profiles.record_key,
        cast(null as {{ sql_type('varchar') }}) as first_name,
        cast(null as {{ sql_type('varchar') }}) as last_name,
        profiles.full_name,
        case when cut_email.node_key is null then profiles.email end as email,
        case when cut_phone.node_key is null then profiles.phone end as phone,
        profiles.company,
        profiles.city,
        profiles.dob,
        profiles.national_id,
        profiles.observed_at
    -- this model's own joins (on record_source): a join chain alike in shape only to other models', other relations
    from profiles
    inner join anchors
        on anchors.record_source = profiles.record_source
        and anchors.record_key = profiles.record_key
    left join cut as cut_email
        on cut_email.record_source = profiles.record_source
        and cut_email.record_key = profiles.record_key
        and cut_email.node_key = {{ node_key('email', 'profiles.email') }}
    left join cut as cut_phone
        on cut_phone.record_source = profiles.record_source
        and cut_phone.record_key = profiles.record_key
        and cut_phone.node_key = {{ node_key('phone', 'profiles.phone') }}
)

select * from final
