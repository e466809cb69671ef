{#- What each record says about its person (name, company, title, ...), one row per CRM lead and
    per form submission. people picks one value per attribute from these; scoring's fit rules read
    them as of a point in time (observed_at). Blocklisted and hub emails and phones are blanked: a
    shared mailbox is not this person's address. -#}
with

forms as (
    select * from {{ ref('stg_forms__submissions') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

hubs as (
    select distinct node_key from {{ ref('int_identity_hubs') }}
),

form_profiles as (
    select
        events.person_id,
        'forms' as source,
        forms.submission_key as record_key,
        -- the CRM is curated by sales: its values win over what people type into forms
        2 as source_priority,
        forms.submitted_at as observed_at,
        forms.submitted_at as recency_at,
        forms.email,
        forms.phone,
        forms.full_name,
        forms.company,
        forms.job_title,
        forms.industry,
        forms.company_size,
        cast(null as varchar) as region,
        cast(null as varchar) as owner,
        cast(null as varchar) as crm_lead_id
    from forms
    inner join events
        on events.event_id = 'forms:' || forms.submission_key
),

lead_profiles as (
    select
        people_nodes.person_id,
        'crm_leads' as source,
        leads.lead_id as record_key,
        1 as source_priority,
        leads.created_at as observed_at,
        leads.updated_at as recency_at,
        leads.email,
        leads.phone,
        leads.full_name,
        leads.company,
        leads.job_title,
        leads.industry,
        leads.company_size,
        leads.region,
        leads.owner,
        leads.lead_id as crm_lead_id
    from leads
    inner join people_nodes
        on people_nodes.node_key = {{ node_key('crm_lead', 'leads.lead_id') }}
),

unioned as (
    select * from form_profiles
    union all
    select * from lead_profiles
),

final as (
    select
        person_id,
        source,
        record_key,
        source_priority,
        observed_at,
        recency_at,
        case
            when not {{ is_blocked_identifier('email', 'email') }}
                and {{ node_key('email', 'email') }} not in (select node_key from hubs)
                then email
        end as email,
        case
            when not {{ is_blocked_identifier('phone', 'phone') }}
                and {{ node_key('phone', 'phone') }} not in (select node_key from hubs)
                then phone
        end as phone,
        full_name,
        company,
        job_title,
        industry,
        company_size,
        region,
        owner,
        crm_lead_id
    from unioned
)

select * from final
