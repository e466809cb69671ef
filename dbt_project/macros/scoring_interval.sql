{#- The two points in time a score is computed for: `interval_end` (the current score) and
    `interval_start` (previous_score). Both come from dbt vars (naive UTC ISO timestamps).
    When a var is not passed, the current score is computed as of the latest event timestamp in
    `events_relation` and the previous one a day earlier; never the wall clock, so a rebuild of
    the same data gives the same scores. -#}
{% macro interval_end_at(events_relation) -%}
    {%- set interval_end = var('interval_end', none) -%}
    {%- if interval_end -%}
        cast('{{ interval_end }}' as timestamp)
    {%- else -%}
        (select max(event_at) from {{ events_relation }})
    {%- endif -%}
{%- endmacro %}

{% macro interval_start_at(events_relation) -%}
    {%- set interval_start = var('interval_start', none) -%}
    {%- if interval_start -%}
        cast('{{ interval_start }}' as timestamp)
    {%- else -%}
        {{ dbt.dateadd('day', -1, interval_end_at(events_relation)) }}
    {%- endif -%}
{%- endmacro %}
