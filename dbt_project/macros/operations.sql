{#- The extract manifests of the raw lake (<lake>/manifests/<source>/dt=<day>.json, written by
    every extract task: per file and per table, rows read, loaded and quarantined), one JSON
    document per row (column json). Before the first extract there is no file and read_json_objects
    would fail on the empty glob: then the relation is empty. The manifests are files, so this reads
    them with DuckDB; another adapter has no reader for them here (a compiler error says so). -#}
{% macro extract_manifests() -%}
    {{ return(adapter.dispatch('extract_manifests')()) }}
{%- endmacro %}

{% macro default__extract_manifests() -%}
    {#- only when the model is compiled: parsing the project on another target must not fail -#}
    {%- if execute -%}
    {{ exceptions.raise_compiler_error("extract_manifests (marts.quarantine_daily) reads the lake's JSON manifests with DuckDB; on " ~ target.type ~ " load them into a table first") }}
    {%- endif -%}
    (select cast(null as {{ dbt.type_string() }}) as json where 1 = 0)
{%- endmacro %}

{% macro duckdb__extract_manifests() -%}
    {%- set pattern = env_var('INTENT_LAKE_DIR') ~ '/manifests/*/dt=*.json' -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        (select json from read_json_objects('{{ pattern | replace("'", "''") }}', format = 'auto'))
    {%- else -%}
        (select cast(null as json) as json where false)
    {%- endif -%}
{%- endmacro %}

{#- Rows where an extract's accounting does not add up: read = loaded + quarantined + suppressed. -#}
{% test rows_add_up(model) %}
select *
from {{ model }}
where rows_read <> rows_loaded + rows_quarantined + rows_suppressed
{% endtest %}
