{#- A dbt var that a deployment may also set in the environment as INTENT_<NAME> (the name in upper
    case): the var when it is given (--vars, a unit test's overrides), else the environment
    variable, else ``default``. One home for that order: interval_bound, scoring_model, the
    conversion definition, the funnel's walk in rounds and the matcher's veto override read their
    settings here (docs/configuration.md lists the variables). A var given here must not be in
    dbt_project.yml's vars, whose value would always win over the environment.

    The environment is read only when a node or operation runs (`execute`), never while dbt
    parses: a changed --vars makes dbt re-parse the whole project, and an env var read at parse
    time every file that read it (docs/dbt-parse.md). While parsing, a setting given by no var is
    its default; no model's refs, sources or config may depend on it.

    The environment's text is typed like ``default``: true or false for a boolean, a whole number
    for a number, else the text itself (checked by its reader). Anything else stops the run with
    the variable's name, never a silent default. -#}
{% macro setting(name, default=none) -%}
    {%- set env_name = 'INTENT_' ~ name | upper -%}
    {#- the prefix written out: tests/test_dbt_env.py lists what the project reads by such literals -#}
    {%- set text = (env_var('INTENT_' ~ name | upper, '') if execute else '') | trim -%}
    {%- set value = default -%}
    {%- if text and default is boolean -%}
        {%- if text | lower not in ('true', 'false') -%}
            {{- exceptions.raise_compiler_error(env_name ~ " must be true or false, got '" ~ text ~ "'") -}}
        {%- endif -%}
        {%- set value = text | lower == 'true' -%}
    {%- elif text and default is number -%}
        {%- if not modules.re.fullmatch('[0-9]+', text) -%}
            {{- exceptions.raise_compiler_error(env_name ~ " must be a whole number, got '" ~ text ~ "'") -}}
        {%- endif -%}
        {%- set value = text | int -%}
    {%- elif text -%}
        {%- set value = text -%}
    {%- endif -%}
    {{- return(var(name, value)) -}}
{%- endmacro %}
