{#- The conversion model applied to every CRM lead on its own (the level the outcome lives on): the
    person's behaviour at the `current` point (int_scoring_features, feature_scope 'person') with
    this lead's own CRM history at interval_end (point now:<lead_id>: its activities, its age, its
    opportunities as the CRM knew them then), z = intercept + sum(weight * value), and the
    calibration (Platt or isotonic: macro scoring_model_probability) of the model var scoring_model,
    as int_lead_conversion_scores does per person. Two leads of one person share the behaviour and
    differ in their CRM history. Top factors as there. Without the var every probability is null. -#}
-- depends_on: {{ ref('int_scoring_features') }}
-- depends_on: {{ ref('scoring_rules') }}
{%- set model = scoring_model() %}
with

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

lead_people as (
    {{ crm_lead_people('leads') }}
),

{%- if model %}

features as (
    -- the person's behaviour now and the lead's own CRM history now
    select
        lead_people.lead_id,
        features.feature,
        features.value
    from lead_people
    inner join {{ ref('int_scoring_features') }} as features
        on features.person_id = lead_people.person_id
        and (
            (features.score_point = 'current' and features.feature_scope = 'person')
            or features.score_point = 'now:' || lead_people.lead_id
        )
),

{{ scoring_linear_predictor(model, 'features', 'lead_people', ['lead_id']) }},

{{ scoring_top_factors('lead_id') }},

final as (
    select
        cast(linear.lead_id as {{ sql_type('varchar') }}) as lead_id,
        cast({{ scoring_model_probability(model, 'linear.z') }} as {{ sql_type('double precision') }}) as conversion_probability,
        cast(factors.top_factors as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast('{{ model["version"] }}' as {{ sql_type('varchar') }}) as conversion_model_version
    from linear
    left join factors
        on factors.lead_id = linear.lead_id
)

{%- else %}

-- no approved model: typed nulls of the conversion columns at this model's own grain
final as (
    select
        cast(lead_id as {{ sql_type('varchar') }}) as lead_id,
        cast(null as {{ sql_type('double precision') }}) as conversion_probability,
        cast(null as {{ sql_type('varchar') }}) as conversion_top_factors,
        cast(null as {{ sql_type('varchar') }}) as conversion_model_version
    from lead_people
)

{%- endif %}

select * from final
