{#- One row per person: the score as of interval_end, why (English and Chinese), its grade, the
    fit-by-engagement cell, whether the person crossed the high-intent threshold during the interval
    (previous_score = the score as of interval_start), and the conversion model's calibrated
    probability when an approved model is configured. The computation lives in
    int_lead_score_rules / int_lead_scores_computed / int_lead_conversion_scores. A person who did
    not consent to scoring (marts.people.consent_scoring) has no row. -#}
with

scores as (
    select * from {{ ref('int_lead_scores_computed') }}
),

conversion_scores as (
    select * from {{ ref('int_lead_conversion_scores') }}
),

scoring_withheld as (
    -- consent: a person who did not consent to scoring gets no score (docs/privacy.md)
    select person_id from {{ ref('people') }}
    where not consent_scoring
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
        {{ grade_of('current_scores.lead_score') }} as grade,
        case
            when current_scores.fit_score >= {{ var('fit_grade_a_min') }} then 'A'
            when current_scores.fit_score >= {{ var('fit_grade_b_min') }} then 'B'
            else 'C'
        end as fit_grade,
        case
            when current_scores.engagement_score >= {{ var('engagement_level_1_min') }} then '1'
            when current_scores.engagement_score >= {{ var('engagement_level_2_min') }} then '2'
            else '3'
        end as engagement_level,
        current_scores.score_reasons,
        current_scores.score_reasons_zh,
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
        cast(graded.person_id as varchar) as person_id,
        cast(graded.grade as varchar) as grade,
        cast(graded.score_reasons as varchar) as score_reasons,
        cast(graded.lead_score as integer) as lead_score,
        cast(graded.fit_score as integer) as fit_score,
        cast(graded.engagement_score as integer) as engagement_score,
        cast(graded.previous_score as integer) as previous_score,
        (
            graded.previous_score < {{ var('high_intent_threshold') }}
            and graded.lead_score >= {{ var('high_intent_threshold') }}
        ) as became_hot_in_interval,
        cast(graded.last_activity_at as timestamp) as last_activity_at,
        cast(graded.scored_at as timestamp) as scored_at,
        cast(graded.score_reasons_zh as varchar) as score_reasons_zh,
        cast(graded.fit_grade as varchar) as fit_grade,
        cast(graded.engagement_level as varchar) as engagement_level,
        cast(graded.fit_grade || graded.engagement_level as varchar) as intent_matrix_cell,
        cast(conversion_scores.conversion_probability as double precision) as conversion_probability,
        cast(conversion_scores.conversion_top_factors as varchar) as conversion_top_factors,
        cast(conversion_scores.conversion_model_version as varchar) as conversion_model_version
    from graded
    left join conversion_scores
        on conversion_scores.person_id = graded.person_id
    where graded.person_id not in (select scoring_withheld.person_id from scoring_withheld)
)

select * from final
