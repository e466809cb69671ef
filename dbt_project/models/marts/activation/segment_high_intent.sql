{#- The people activation pushes to the CRM: high intent, reachable by email, not yet a customer,
    and not opted out or bounced; with the owner the CRM has, or the one lead routing chose
    (lead_assignments: owner name, the CRM's owner id, team). -#}
with

people as (
    select * from {{ ref('people') }}
),

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

assignments as (
    select * from {{ ref('lead_assignments') }}
),

eligible as (
    select
        people.person_id,
        people.email,
        people.phone,
        people.full_name,
        people.company,
        people.job_title,
        people.industry,
        people.crm_lead_id,
        coalesce(people.owner, assignments.owner) as owner,
        assignments.crm_owner_id,
        assignments.team as owner_team,
        coalesce(assignments.assignment_source, case when people.owner is not null then 'crm_owner' end)
            as owner_source,
        lead_scores.score_reasons_zh,
        lead_scores.grade,
        lead_scores.score_reasons,
        lead_scores.lead_score,
        lead_scores.became_hot_in_interval,
        lead_scores.scored_at
    from lead_scores
    inner join people
        on people.person_id = lead_scores.person_id
    left join assignments
        on assignments.person_id = lead_scores.person_id
    where lead_scores.grade = 'high_intent'
        and {{ is_contactable('people') }}
),

final as (
    select
        cast(person_id as varchar) as person_id,
        cast(email as varchar) as email,
        cast(phone as varchar) as phone,
        cast(full_name as varchar) as full_name,
        cast(company as varchar) as company,
        cast(job_title as varchar) as job_title,
        cast(industry as varchar) as industry,
        cast(owner as varchar) as owner,
        cast(crm_lead_id as varchar) as crm_lead_id,
        cast(grade as varchar) as grade,
        cast(score_reasons as varchar) as score_reasons,
        cast(lead_score as integer) as lead_score,
        became_hot_in_interval,
        cast(scored_at as timestamp) as scored_at,
        cast(crm_owner_id as varchar) as crm_owner_id,
        cast(owner_team as varchar) as owner_team,
        cast(owner_source as varchar) as owner_source,
        cast(score_reasons_zh as varchar) as score_reasons_zh
    from eligible
)

select * from final
