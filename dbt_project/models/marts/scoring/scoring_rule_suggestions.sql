{#- The rule table next to what the latest approved conversion model suggests: one row per rule of
    the seed scoring_rules with its current points and the model's learned points (scorecard
    convention: +20 points doubles the odds of converting), the odds ratio and how often leads with
    the rule converted. Marketing reviews it and edits the seed; nothing is changed automatically.
    Without an approved model (var scoring_model) the suggestion columns are null. -#}
{%- set model = scoring_model() %}
{%- set learned = model['learned_points'] if model and model.get('learned_points') else [] %}
with

rules as (
    select * from {{ ref('scoring_rules') }}
),

{%- if learned %}

learned as (
    select * from (
        values
        {%- for p in learned %}
        ('{{ p["rule_id"] | replace("'", "''") }}', {{ p['suggested_points'] }}, {{ p['odds_ratio'] }},
         {{ p['examples_with_rule'] }}, {{ p['conversion_rate_with_rule'] }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as learned (rule_id, suggested_points, odds_ratio, examples_with_rule, conversion_rate_with_rule)
),

{%- else %}

learned as (
    select
        cast(null as {{ sql_type('varchar') }}) as rule_id,
        cast(null as integer) as suggested_points,
        cast(null as {{ sql_type('double precision') }}) as odds_ratio,
        cast(null as integer) as examples_with_rule,
        cast(null as {{ sql_type('double precision') }}) as conversion_rate_with_rule
    where 1 = 0
),

{%- endif %}

final as (
    select
        cast(rules.rule_id as {{ sql_type('varchar') }}) as rule_id,
        cast(rules.rule_set as {{ sql_type('varchar') }}) as rule_set,
        rules.is_enabled,
        cast(rules.description as {{ sql_type('varchar') }}) as description,
        cast(rules.points as integer) as current_points,
        cast(learned.suggested_points as integer) as suggested_points,
        cast(learned.suggested_points - rules.points as integer) as points_change,
        cast(learned.odds_ratio as {{ sql_type('double precision') }}) as odds_ratio,
        cast(learned.examples_with_rule as integer) as examples_with_rule,
        cast(learned.conversion_rate_with_rule as {{ sql_type('double precision') }}) as conversion_rate_with_rule,
        cast({{ "'" ~ model['version'] ~ "'" if learned else 'null' }} as {{ sql_type('varchar') }}) as model_version
    from rules
    left join learned
        on learned.rule_id = rules.rule_id
)

select * from final
