{#- The data interval of the run: `interval_start` / `interval_end`, naive UTC ISO timestamps
    ("2026-11-22 00:00:00"), or none when not given. A dbt var wins (unit tests and hand runs pass
    `--vars`); otherwise the environment variables INTENT_INTERVAL_START / INTENT_INTERVAL_END, which
    is how the DAG passes them: a var that changes every day would make dbt re-parse the whole
    project on every run. The environment is read only when a node runs (`execute`), never while
    dbt parses: dbt re-parses every file that read a changed env var at parse time, and the
    interval changes every day (docs/incremental.md, "What dbt parses"). While parsing, a bound
    given by no var is none; no model's refs, sources or config depend on it (macro setting). -#}
{% macro interval_bound(name) -%}
    {%- set value = setting(name) or none -%}
    {#- The value is written into SQL: only an ISO date or timestamp is accepted, anything else
        (a typo, a quote) stops the build here with the name of the setting. -#}
    {%- if value is not none
          and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?', value | string) -%}
        {{- exceptions.raise_compiler_error(name ~ " (var or INTENT_" ~ name | upper ~ ") must be an ISO date or timestamp such as 2026-11-22 00:00:00, got '" ~ value ~ "'") -}}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- The run's interval day as a SQL date literal: the day identity changes and the operations
    marts are dated by (1970-01-01 for a hand run without an interval). -#}
{% macro interval_day() -%}
    cast(cast('{{ interval_bound('interval_start') or '1970-01-01' }}' as timestamp) as date)
{%- endmacro %}

{#- The two points in time a score is computed for: `interval_end` (the current score) and
    `interval_start` (previous_score). When the bound is not given, the current score is computed
    as of the latest event timestamp in `events_relation` and the previous one a day earlier; never
    the wall clock, so a rebuild of the same data gives the same scores. -#}
{% macro interval_end_at(events_relation) -%}
    {%- set interval_end = interval_bound('interval_end') -%}
    {%- if interval_end -%}
        cast('{{ interval_end }}' as timestamp)
    {%- else -%}
        (select max(event_at) from {{ events_relation }})
    {%- endif -%}
{%- endmacro %}

{% macro interval_start_at(events_relation) -%}
    {%- set interval_start = interval_bound('interval_start') -%}
    {%- if interval_start -%}
        cast('{{ interval_start }}' as timestamp)
    {%- else -%}
        {{ dbt.dateadd('day', -1, interval_end_at(events_relation)) }}
    {%- endif -%}
{%- endmacro %}
