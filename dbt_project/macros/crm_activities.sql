{#- A CRM activity's outcome as exported, as a key: trimmed, lower-cased, spaces and hyphens to
    underscores ("No answer" -> no_answer, "No-Show" -> no_show); null when empty. -#}
{% macro activity_outcome(column) -%}
    nullif({{ regex_replace_all("lower(trim(coalesce(" ~ column ~ ", '')))", "'[ -]+'", "'_'") }}, '')
{%- endmacro %}


{#- Whether ``relation`` (a source, or a parenthesised select such as lake_window's) has ``column``: a
    raw lake written before the column was in the contract (the activities' optional Outcome) has no
    such column in any partition, and a model that reads it must still build (the value is then
    unknown, null). True while parsing. The alias: Postgres before 16 wants one on a subquery. -#}
{% macro relation_has_column(relation, column) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set probe = run_query('select * from ' ~ relation ~ ' as probe where 1 = 0') -%}
    {{ return(column in probe.column_names) }}
{%- endmacro %}
