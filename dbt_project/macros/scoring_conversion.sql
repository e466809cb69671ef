{#- What converts, in words, for the closed loop's readers: "opportunity_created within 30 days",
    "stage_reached Proposal within 60 days" (vars conversion_event, conversion_stage,
    conversion_window_days; int_lead_conversion_events applies them). -#}
{% macro conversion_definition() -%}
    {{- var('conversion_event') -}}
    {%- if var('conversion_event') == 'stage_reached' %} {{ var('conversion_stage') | replace("'", "") }}{% endif -%}
    {{- ' within ' ~ var('conversion_window_days') ~ ' days' -}}
{%- endmacro %}


{#- The approved model's weights as a relation (feature, weight, training_mean): one row per
    feature of ``model`` (the var scoring_model, scoring_model.to_dbt_var). Person-level and
    lead-level scoring both read it, so both apply the same model the same way. -#}
{% macro scoring_model_weights(model) -%}
    select * from (
        values
        {%- for f in model['features'] %}
        ('{{ f["feature"] | replace("'", "''") }}', {{ f['weight'] }}, {{ f['mean'] }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as weights (feature, weight, training_mean)
{%- endmacro %}
