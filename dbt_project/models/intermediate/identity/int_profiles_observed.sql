{#- What each record says about its person (name, company, title, ...), one row per CRM lead and
    per form submission. people picks one value per attribute from these; scoring's fit rules read
    them as of a point in time (observed_at). Emails and phones come from int_identity_records, where
    the ones the guards cut (blocklist, hubs) are blanked: a shared mailbox is not this person's
    address. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

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

identity_records as (
    -- the same records with the emails and phones the identity guards cut already blanked
    select * from {{ ref('int_identity_records') }}
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
        forms.full_name,
        forms.company,
        forms.job_title,
        forms.industry,
        forms.company_size,
        cast(null as {{ sql_type('varchar') }}) as region,
        cast(null as {{ sql_type('varchar') }}) as owner,
        cast(null as {{ sql_type('varchar') }}) as crm_lead_id
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
        leads.full_name,
        leads.company,
        leads.job_title,
        leads.industry,
        leads.company_size,
        leads.region,
        leads.owner,
        leads.lead_id as crm_lead_id
    from leads
    {{ join_lead_person('leads.lead_id') }}
),

unioned as (
    select * from form_profiles
    union all
    select * from lead_profiles
),

final as (
    select
        unioned.person_id,
        unioned.source,
        unioned.record_key,
        unioned.source_priority,
        unioned.observed_at,
        unioned.recency_at,
        identity_records.email,
        identity_records.phone,
        unioned.full_name,
        unioned.company,
        unioned.job_title,
        unioned.industry,
        unioned.company_size,
        unioned.region,
        unioned.owner,
        unioned.crm_lead_id
    -- this model's own joins (on record_source): a join chain alike in shape only to other models', other relations
    from unioned
    left join identity_records
        on identity_records.record_source = unioned.source
        and identity_records.record_key = unioned.record_key
)

select * from final
