{#- What converts, in words, for the closed loop's readers: "opportunity_created within 30 days",
    "stage_reached Proposal within 60 days" (vars conversion_event, conversion_stage,
    conversion_window_days; int_lead_conversion_events applies them). -#}
{% macro conversion_definition() -%}
    {{- var('conversion_event') -}}
    {%- if var('conversion_event') == 'stage_reached' %} {{ var('conversion_stage') | replace("'", "") }}{% endif -%}
    {{- ' within ' ~ var('conversion_window_days') ~ ' days' -}}
{%- endmacro %}
