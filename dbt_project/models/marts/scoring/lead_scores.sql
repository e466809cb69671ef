{#- One row per person: the score as of interval_end, why, its grade, and whether the person crossed
    the high-intent threshold during the interval (previous_score = the score as of interval_start).
    The computation itself lives in int_lead_scores_computed. -#}
with

scores as (
    select * from {{ ref('int_lead_scores_computed') }}
),

current_scores as (
    select * from scores
    where score_point = 'current'
),

previous_scores as (
    select * from scores
    where score_point = 'previous'
),

graded as (
    select
        current_scores.person_id,
        case
            when current_scores.lead_score >= {{ var('high_intent_threshold') }} then 'high_intent'
            when current_scores.lead_score >= {{ var('potential_threshold') }} then 'potential'
            else 'nurture'
        end as grade,
        current_scores.score_reasons,
        current_scores.lead_score,
        current_scores.fit_score,
        current_scores.engagement_score,
        coalesce(previous_scores.lead_score, 0) as previous_score,
        current_scores.last_activity_at,
        current_scores.as_of_at as scored_at
    from current_scores
    left join previous_scores
        on previous_scores.person_id = current_scores.person_id
),

final as (
    select
        cast(person_id as varchar) as person_id,
        cast(grade as varchar) as grade,
        cast(score_reasons as varchar) as score_reasons,
        cast(lead_score as integer) as lead_score,
        cast(fit_score as integer) as fit_score,
        cast(engagement_score as integer) as engagement_score,
        cast(previous_score as integer) as previous_score,
        (
            previous_score < {{ var('high_intent_threshold') }}
            and lead_score >= {{ var('high_intent_threshold') }}
        ) as became_hot_in_interval,
        cast(last_activity_at as timestamp) as last_activity_at,
        cast(scored_at as timestamp) as scored_at
    from graded
)

select * from final
