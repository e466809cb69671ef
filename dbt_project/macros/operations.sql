{#- The extract manifests of the raw lake (<lake>/manifests/<source>/dt=<day>.json, written by
    every extract task: per file and per table, rows read, loaded and quarantined), one JSON
    document per row (column json). DuckDB reads the files; on Postgres the load step
    (intent_pipeline.postgres_load) copies them into raw.extract_manifests. Before the first extract
    there is none: then the relation is empty. Another adapter has no reader for them here (a
    compiler error says so). -#}
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

{% macro postgres__extract_manifests() -%}
    {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier='extract_manifests') -%}
    {{ relation_or_empty(relation, '(select cast(null as json) as json where false) as no_manifests') }}
{%- endmacro %}

{#- Spark: the manifest files read by Spark's JSON reader (multiLine: one document a file) as the
    typed external table raw.extract_manifests, a struct per file as `json`: json_field and
    json_field_text below take a struct's field or a map's key where DuckDB and Postgres take a JSON
    key. No manifest yet (no folder): an empty table. -#}
{% macro spark__extract_manifests() -%}
    {%- set relation = spark_lake_table('extract_manifests', 'manifests', [
        ('source', 'varchar'), ('interval_start', 'varchar'), ('batch_id', 'varchar'), ('loaded_at', 'varchar'),
        ('tables', 'map<string, map<string, bigint>>'), ('files', 'array<map<string, string>>'),
    ], format='json', options={'multiLine': 'true'}) -%}
    (select named_struct('source', source, 'interval_start', interval_start, 'batch_id', batch_id,
        'loaded_at', loaded_at, 'tables', tables, 'files', files) as json from {{ relation }})
{%- endmacro %}

{% macro duckdb__extract_manifests() -%}
    {%- set pattern = lake_dir() ~ '/manifests/*/dt=*.json' -%}
    {%- set files = "(select json from read_json_objects('" ~ pattern | replace("'", "''") ~ "', format = 'auto'))" -%}
    {{ files_or_empty(pattern, files, '(select cast(null as json) as json where false)') }}
{%- endmacro %}

{#- Rows where an extract's accounting does not add up: read = loaded + quarantined + suppressed. -#}
{% test rows_add_up(model) %}
select *
from {{ model }}
where rows_read <> rows_loaded + rows_quarantined + rows_suppressed
{% endtest %}

{#- One row per key of the JSON object at `key` of `document` (column name given by the caller's
    alias: `from manifests, {{ json_object_key_rows('manifests.json', 'tables') }} as t (name)`). -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro json_object_key_rows(document, key) -%}
    {{ return(adapter.dispatch('json_object_key_rows')(document, key)) }}
{%- endmacro %}

{% macro default__json_object_key_rows(document, key) -%}
    json_object_keys({{ document }} -> '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_object_key_rows(document, key) -%}
    unnest(json_keys({{ document }}, '$.{{ key }}'))
{%- endmacro %}

{#- One row per element of the JSON array at `key` of `document` (as json_object_key_rows). -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro json_array_rows(document, key) -%}
    {{ return(adapter.dispatch('json_array_rows')(document, key)) }}
{%- endmacro %}

{% macro default__json_array_rows(document, key) -%}
    json_array_elements({{ document }} -> '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_array_rows(document, key) -%}
    unnest(cast({{ document }} -> '{{ key }}' as json[]))
{%- endmacro %}

{#- Spark (spark__extract_manifests: the manifests as structs and maps): the lateral generators. -#}
{% macro spark__json_object_key_rows(document, key) -%}
    lateral explode(map_keys({{ document }}['{{ key }}']))
{%- endmacro %}

{% macro spark__json_array_rows(document, key) -%}
    lateral explode({{ document }}['{{ key }}'])
{%- endmacro %}

{#- The value at `key` (SQL: a quoted name or a column) of a JSON object (`->`), and its text (`->>`). -#}
{% macro json_field(document, key) -%}
    {{ return(adapter.dispatch('json_field')(document, key)) }}
{%- endmacro %}

{% macro default__json_field(document, key) -%}
    {{ document }} -> {{ key }}
{%- endmacro %}

{% macro spark__json_field(document, key) -%}
    {{ document }}[{{ key }}]
{%- endmacro %}

{% macro json_field_text(document, key) -%}
    {{ return(adapter.dispatch('json_field_text')(document, key)) }}
{%- endmacro %}

{% macro default__json_field_text(document, key) -%}
    {{ document }} ->> {{ key }}
{%- endmacro %}

{% macro spark__json_field_text(document, key) -%}
    cast({{ document }}[{{ key }}] as string)
{%- endmacro %}
