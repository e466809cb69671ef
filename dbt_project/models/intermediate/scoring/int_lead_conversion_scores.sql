{#- The conversion model applied in SQL: the calibrated probability that a person becomes an
    opportunity within var conversion_window_days, and the features that raise it most, for every
    person at the `current` point. The model is the dbt var scoring_model, the latest approved one
    the DAG found (intent_pipeline.scoring_model.to_dbt_var): a logistic regression whose
    standardisation is folded into raw weights, z = intercept + sum(weight * value), and its
    calibration (macro scoring_model_probability: Platt, p = 1 / (1 + exp(-(calibration_a * z +
    calibration_c))), or isotonic, whichever held-out leads chose). A top factor is a feature
    whose contribution weight * (value - training mean) is positive, largest first, named by its
    rule's description ("pricing page +1.18") or its activity ("email clicks 90d +0.64").
    previous_conversion_probability: the same at the `previous` point (var interval_start), only
    when the person-level grades are cut on the probability (macro uses_probability_grades), so
    lead_scores can tell who became hot; null otherwise.
    Without the var every probability is null: the rule score stands alone. -#}
-- depends_on: {{ ref('int_scoring_features') }}
-- depends_on: {{ ref('scoring_rules') }}
{%- set model = scoring_model() %}
{%- set points = "('current', 'previous')" if uses_probability_grades(model) else "('current')" %}
with

score_points as (
    select * from {{ ref('int_score_points') }}
    where score_point in {{ points }}
),

{%- if model %}

features as (
    select * from {{ ref('int_scoring_features') }}
    where score_point in {{ points }}
),

{{ scoring_linear_predictor(model, 'features', 'score_points', ['person_id', 'score_point']) }},

{{ scoring_top_factors('person_id', "contributions.score_point = 'current'") }},

final as (
    select
        linear.person_id,
        cast({{ scoring_model_probability(model, 'linear.z') }} as {{ sql_type('double precision') }}) as conversion_probability,
        cast(factors.top_factors as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast('{{ model["version"] }}' as {{ sql_type('varchar') }}) as conversion_model_version,
        cast({{ scoring_model_probability(model, 'previous_linear.z') }} as {{ sql_type('double precision') }})
            as previous_conversion_probability
    from linear
    left join factors
        on factors.person_id = linear.person_id
    left join linear as previous_linear
        on previous_linear.person_id = linear.person_id
        and previous_linear.score_point = 'previous'
    where linear.score_point = 'current'
)

{%- else %}

-- no approved model: typed nulls of the conversion columns at this model's own grain
final as (
    select
        person_id,
        cast(null as {{ sql_type('double precision') }}) as conversion_probability,
        cast(null as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast(null as {{ sql_type('varchar') }}) as conversion_model_version,
        cast(null as {{ sql_type('double precision') }}) as previous_conversion_probability
    from score_points
)

{%- endif %}

select * from final
