{#- One row per person: the score as of interval_end, why (English and Chinese), its grade, the
    fit-by-engagement cell, whether the person crossed the high-intent threshold during the interval
    (previous_score = the score as of interval_start), and the conversion model's calibrated
    probability when an approved model is configured. The computation lives in
    int_lead_score_rules / int_lead_scores_computed / int_lead_conversion_scores. A person who did
    not consent to scoring (marts.people.consent_scoring) has no row.
    grade follows the same rule as crm_lead_scores.grade (docs/scoring.md, "Grades"): cut on
    conversion_probability at the approved model's thresholds when that model ranks held-out leads
    better than the rule score and var grade_basis is auto (grade_basis says which), else the points
    grade, which rule_grade always holds. previous_grade is the grade at interval_start on the same
    basis, and became_hot_in_interval compares the two. -#}
{%- set model = scoring_model() %}
{%- set probability_grades = uses_probability_grades(model) %}
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
        {{ grade_of('current_scores.lead_score') }} as rule_grade,
        {{ grade_of('coalesce(previous_scores.lead_score, 0)') }} as previous_rule_grade,
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

based as (
    select
        graded.*,
        conversion_scores.conversion_probability,
        conversion_scores.conversion_top_factors,
        conversion_scores.conversion_model_version,
        {%- if probability_grades %}
        -- a person without a probability (none expected: every person is scored) keeps the points grade
        {{ probability_grade_of(model, 'conversion_scores.conversion_probability') }} as probability_grade,
        {{ probability_grade_of(model, 'conversion_scores.previous_conversion_probability') }}
            as previous_probability_grade
        {%- else %}
        cast(null as {{ sql_type('varchar') }}) as probability_grade,
        cast(null as {{ sql_type('varchar') }}) as previous_probability_grade
        {%- endif %}
    from graded
    left join conversion_scores
        on conversion_scores.person_id = graded.person_id
),

final as (
    select
        cast(based.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(coalesce(based.probability_grade, based.rule_grade) as {{ sql_type('varchar') }}) as grade,
        cast(based.score_reasons as {{ sql_type('varchar') }}) as score_reasons,
        cast(based.lead_score as integer) as lead_score,
        cast(based.fit_score as integer) as fit_score,
        cast(based.engagement_score as integer) as engagement_score,
        cast(based.previous_score as integer) as previous_score,
        (
            coalesce(based.previous_probability_grade, based.previous_rule_grade) <> 'high_intent'
            and coalesce(based.probability_grade, based.rule_grade) = 'high_intent'
        ) as became_hot_in_interval,
        cast(based.last_activity_at as timestamp) as last_activity_at,
        cast(based.scored_at as timestamp) as scored_at,
        cast(based.score_reasons_zh as {{ sql_type('varchar') }}) as score_reasons_zh,
        cast(based.fit_grade as {{ sql_type('varchar') }}) as fit_grade,
        cast(based.engagement_level as {{ sql_type('varchar') }}) as engagement_level,
        cast(based.fit_grade || based.engagement_level as {{ sql_type('varchar') }}) as intent_matrix_cell,
        cast(based.conversion_probability as {{ sql_type('double precision') }}) as conversion_probability,
        cast(based.conversion_top_factors as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast(based.conversion_model_version as {{ sql_type('varchar') }}) as conversion_model_version,
        cast(
            case when based.probability_grade is null then 'lead_score' else 'conversion_probability' end as {{ sql_type('varchar') }}) as grade_basis,
        cast(based.rule_grade as {{ sql_type('varchar') }}) as rule_grade,
        cast(coalesce(based.previous_probability_grade, based.previous_rule_grade) as {{ sql_type('varchar') }}) as previous_grade
    from based
    where based.person_id not in (select scoring_withheld.person_id from scoring_withheld)
)

select * from final
