{#- One row per CRM lead (what sales works): the conversion probability of this lead
    (int_crm_lead_conversion_scores: the model, which trains on CRM leads, applied to the person's
    behaviour and this lead's own CRM history), its person's current rule score, grade and
    person-level probability from lead_scores, and what is known about this lead itself as of
    interval_end: its status and owner, its age, the sales activities on it and since when it is
    quiet, whether it has an opportunity, and how many CRM leads the person has (the rule score is
    the person's: a person with several leads shares it). grade is the lead's: cut on its
    conversion_probability at the approved model's thresholds when that model ranks held-out leads
    better than the rule score and var grade_basis is auto (grade_basis says which), else its
    person's points grade, which rule_grade always holds (lead_scores.rule_grade; lead_scores.grade
    follows the same rule on the person's probability). -#}
{%- set model = scoring_model() %}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

person_scores as (
    select * from {{ ref('lead_scores') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

lead_conversion as (
    select * from {{ ref('int_crm_lead_conversion_scores') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

lead_people as (
    {{ crm_lead_people('leads') }}
),

leads_per_person as (
    select person_id, count(*) as crm_leads_of_person
    from lead_people
    group by 1
),

lead_activity as (
    select
        lead_id,
        count(*) as sales_activities,
        max(activity_at) as last_sales_activity_at
    from activities
    where activity_at <= {{ interval_end_at('events') }}
    group by 1
),

lead_opportunities as (
    select
        lead_id,
        count(*) as opportunities,
        min(created_at) as first_opportunity_at
    from opportunities
    where created_at <= {{ interval_end_at('events') }}
    group by 1
),

final as (
    select
        cast(leads.lead_id as {{ sql_type('varchar') }}) as lead_id,
        cast(lead_people.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(leads.status as {{ sql_type('varchar') }}) as lead_status,
        cast(leads.owner as {{ sql_type('varchar') }}) as owner,
        cast(leads.created_at as timestamp) as lead_created_at,
        cast({{ days_between('leads.created_at', interval_end_at('events')) }} as {{ sql_type('double precision') }}) as lead_age_days,
        cast(person_scores.lead_score as integer) as lead_score,
        {%- if uses_probability_grades(model) %}
        cast({{ probability_grade_of(model, 'lead_conversion.conversion_probability') }} as {{ sql_type('varchar') }}) as grade,
        cast('conversion_probability' as {{ sql_type('varchar') }}) as grade_basis,
        {%- else %}
        cast(person_scores.rule_grade as {{ sql_type('varchar') }}) as grade,
        cast('lead_score' as {{ sql_type('varchar') }}) as grade_basis,
        {%- endif %}
        cast(person_scores.rule_grade as {{ sql_type('varchar') }}) as rule_grade,
        cast(lead_conversion.conversion_probability as {{ sql_type('double precision') }}) as conversion_probability,
        cast(coalesce(lead_activity.sales_activities, 0) as integer) as sales_activities,
        cast(lead_activity.last_sales_activity_at as timestamp) as last_sales_activity_at,
        coalesce(lead_opportunities.opportunities, 0) > 0 as has_opportunity,
        cast(lead_opportunities.first_opportunity_at as timestamp) as first_opportunity_at,
        cast(coalesce(leads_per_person.crm_leads_of_person, 0) as integer) as crm_leads_of_person,
        cast(lead_conversion.conversion_top_factors as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast(lead_conversion.conversion_model_version as {{ sql_type('varchar') }}) as conversion_model_version,
        cast(person_scores.conversion_probability as {{ sql_type('double precision') }}) as person_conversion_probability
    -- joins by lead_id, and by person_id for the person's figures: alike in shape to people's
    -- chain of left joins by person_id, but other relations, one row per CRM lead
    from leads
    left join lead_people
        on lead_people.lead_id = leads.lead_id
    left join person_scores
        on person_scores.person_id = lead_people.person_id
    left join leads_per_person
        on leads_per_person.person_id = lead_people.person_id
    left join lead_activity
        on lead_activity.lead_id = leads.lead_id
    left join lead_opportunities
        on lead_opportunities.lead_id = leads.lead_id
    left join lead_conversion
        on lead_conversion.lead_id = leads.lead_id
)

select * from final
