{#- When each person reached each funnel stage (null: not reached).
    awareness: first seen; engaged: first form, email click or page view engaged for more than
    var engaged_min_engagement_seconds; mql: scored_at when the current grade is high_intent;
    sql: first opportunity created; won: first opportunity won. -#}
with

people as (
    select * from {{ ref('people') }}
),

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

milestones as (
    select
        person_id,
        min(
            case
                when event_type in ('form_submitted', 'email_click') then event_at
                when event_type = 'page_view'
                    and engagement_seconds > {{ var('engaged_min_engagement_seconds') }} then event_at
            end
        ) as engaged_at,
        min(case when event_type = 'opportunity_created' then event_at end) as sql_at,
        min(case when event_type = 'opportunity_won' then event_at end) as won_at
    from events
    group by person_id
),

final as (
    select
        people.person_id,
        people.first_seen_at as awareness_at,
        milestones.engaged_at,
        case when lead_scores.grade = 'high_intent' then lead_scores.scored_at end as mql_at,
        milestones.sql_at,
        milestones.won_at
    from people
    left join milestones
        on milestones.person_id = people.person_id
    left join lead_scores
        on lead_scores.person_id = people.person_id
)

select * from final
