{#- The quality gates' verdict record in the raw lake (<lake>/gate_results/<layer>/dt=<day>.parquet,
    written by validate_raw and validate_marts: one row per expectation, intent_pipeline/quality/verdicts.py),
    as a relation. Before the first gate ran there is no file and read_parquet would fail on the
    empty glob: then the relation is empty, with the record's columns. The record is files, read with
    DuckDB; on another adapter from the table the load step made of them. -#}
{% macro gate_results() -%}
    {{ return(adapter.dispatch('gate_results')()) }}
{%- endmacro %}

{% macro gate_results_empty() -%}
    (select
        cast(null as {{ dbt.type_string() }}) as run_id,
        cast(null as date) as interval_start,
        cast(null as {{ dbt.type_string() }}) as layer,
        cast(null as {{ dbt.type_string() }}) as suite,
        cast(null as integer) as expectation_number,
        cast(null as {{ dbt.type_string() }}) as expectation,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as row_condition,
        cast(null as {{ dbt.type_string() }}) as severity,
        cast(null as boolean) as is_critical,
        cast(null as boolean) as success,
        cast(null as bigint) as rows_checked,
        cast(null as bigint) as unexpected_count,
        cast(null as double precision) as unexpected_percent,
        cast(null as {{ dbt.type_string() }}) as error,
        cast(null as timestamp) as validated_at
    where 1 = 0) as no_gate_results
{%- endmacro %}

{#- Another adapter: the verdict files loaded into raw.gate_results (intent_pipeline.postgres_load,
    which leaves no table before the first gate ran). -#}
{% macro default__gate_results() -%}
    {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier='gate_results') -%}
    {{ relation_or_empty(relation, gate_results_empty()) }}
{%- endmacro %}

{% macro duckdb__gate_results() -%}
    {%- set pattern = env_var('INTENT_LAKE_DIR') ~ '/gate_results/*/dt=*.parquet' -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        (select * from read_parquet('{{ pattern | replace("'", "''") }}', hive_partitioning = false, union_by_name = true))
    {%- else -%}
        {{ gate_results_empty() }}
    {%- endif -%}
{%- endmacro %}
