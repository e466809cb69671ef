{#- Everyone activation may send to a CRM, one row per person, with the segment's columns:
    in_segment = high intent, reachable by email, not a customer, not opted out or bounced (the
    rows of segment_high_intent); the others are people lead routing assigned once (they were
    high intent) and who left the segment since: segment_crm_updates, so that a CRM that holds
    their earlier "high intent" learns the grade and score they have now.
    The owner: lead_assignments' (one model decides, chat, the CRMs and the mart agree): it
    follows the CRM when a salesperson changed the owner there, keeps a recycling's new owner
    while the CRM still shows the old one, and sends a CRM owner id only with the owner routing
    chose, never over a salesperson's change. recycled_in_interval marks a lead recycled
    in this interval (alerted again, alert_round 1). merged_person_ids: the ids merged into the
    person (int_identity_merged_ids, comma-separated), so chat alerts follow a merge. -#}
{#- the segment's rule, once: high intent and contactable (segment_high_intent's rows) -#}
{%- set in_segment = "(lead_scores.grade = 'high_intent' and " ~ is_contactable('people') ~ ")" %}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

people as (
    select * from {{ ref('people') }}
),

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

assignments as (
    select * from {{ ref('lead_assignments') }}
),

merged_ids as (
    select
        person_id,
        {{ dbt.listagg('merged_person_id', "','", "order by merged_person_id") }} as merged_person_ids
    from {{ ref('int_identity_merged_ids') }}
    group by person_id
),

candidates as (
    select
        people.person_id,
        people.email,
        people.phone,
        people.full_name,
        people.company,
        people.job_title,
        people.industry,
        people.crm_lead_id,
        -- one owner truth: lead_assignments decides (it follows the CRM when a salesperson changed
        -- the owner there); the CRM's owner only for a person routing never assigned
        coalesce(assignments.owner, people.owner) as owner,
        assignments.crm_owner_id,
        assignments.recycled_from_owner,
        coalesce(assignments.recycle_count, 0) as alert_round,
        coalesce(assignments.recycled_at = lead_scores.scored_at, false) as recycled_in_interval,
        assignments.team as owner_team,
        coalesce(assignments.assignment_source, case when people.owner is not null then 'crm_owner' end)
            as owner_source,
        lead_scores.score_reasons_zh,
        lead_scores.grade,
        lead_scores.score_reasons,
        lead_scores.lead_score,
        lead_scores.became_hot_in_interval,
        lead_scores.scored_at,
        merged_ids.merged_person_ids,
        people.consent_crm_sync,
        people.consent_chat_alert,
        coalesce({{ in_segment }}, false) as in_segment
    from lead_scores
    inner join people
        on people.person_id = lead_scores.person_id
    left join assignments
        on assignments.person_id = lead_scores.person_id
    left join merged_ids
        on merged_ids.person_id = lead_scores.person_id
    where (
        {{ in_segment }}
        or assignments.person_id is not null
    )
        -- consent: nobody any destination may not receive (crm_sync for the CRMs, chat_alert for chat)
        and (people.consent_crm_sync or people.consent_chat_alert)
),

final as (
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(email as {{ sql_type('varchar') }}) as email,
        cast(phone as {{ sql_type('varchar') }}) as phone,
        cast(full_name as {{ sql_type('varchar') }}) as full_name,
        cast(company as {{ sql_type('varchar') }}) as company,
        cast(job_title as {{ sql_type('varchar') }}) as job_title,
        cast(industry as {{ sql_type('varchar') }}) as industry,
        cast(owner as {{ sql_type('varchar') }}) as owner,
        cast(crm_lead_id as {{ sql_type('varchar') }}) as crm_lead_id,
        cast(grade as {{ sql_type('varchar') }}) as grade,
        cast(score_reasons as {{ sql_type('varchar') }}) as score_reasons,
        cast(lead_score as integer) as lead_score,
        became_hot_in_interval,
        cast(scored_at as timestamp) as scored_at,
        cast(crm_owner_id as {{ sql_type('varchar') }}) as crm_owner_id,
        cast(owner_team as {{ sql_type('varchar') }}) as owner_team,
        cast(owner_source as {{ sql_type('varchar') }}) as owner_source,
        cast(score_reasons_zh as {{ sql_type('varchar') }}) as score_reasons_zh,
        cast(recycled_from_owner as {{ sql_type('varchar') }}) as recycled_from_owner,
        cast(alert_round as integer) as alert_round,
        recycled_in_interval,
        cast(merged_person_ids as {{ sql_type('varchar') }}) as merged_person_ids,
        coalesce(consent_crm_sync, false) as consent_crm_sync,
        coalesce(consent_chat_alert, false) as consent_chat_alert,
        in_segment
    from candidates
)

select * from final
