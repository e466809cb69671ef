{#- The quality gates' verdict record in the raw lake (<lake>/gate_results/<layer>/dt=<day>.parquet,
    written by validate_raw and validate_marts: one row per expectation, intent_pipeline/quality/verdicts.py),
    as a relation. Before the first gate ran there is no file and read_parquet would fail on the
    empty glob: then the relation is empty, with the record's columns. The record is files, read with
    DuckDB; on another adapter from the table the load step made of them. -#}
{% macro gate_results() -%}
    {{ return(adapter.dispatch('gate_results')()) }}
{%- endmacro %}

{#- The record's columns and their types, in the staging model's order (keys, the expectation, the
    verdict, which gate run): the one list the empty relation and stg_quality__gate_results' casts use (typed_columns). -#}
{% macro gate_result_columns() -%}
    {%- set text = dbt.type_string() -%}
    {{ return([
        ('interval_start', 'date'), ('layer', text), ('suite', text), ('expectation_number', 'integer'),
        ('expectation', text), ('column_name', text), ('row_condition', text), ('severity', text),
        ('is_critical', 'boolean'),
        ('success', 'boolean'), ('rows_checked', 'bigint'), ('unexpected_count', 'bigint'),
        ('unexpected_percent', 'double precision'), ('error', text),
        ('run_id', text), ('validated_at', 'timestamp'),
    ]) }}
{%- endmacro %}

{% macro gate_results_empty() -%}
    (select
        {{- typed_columns(gate_result_columns(), null_values=true) }}
    where 1 = 0) as no_gate_results
{%- endmacro %}

{#- Another adapter: the verdict files loaded into raw.gate_results (intent_pipeline.postgres_load,
    which leaves no table before the first gate ran). -#}
{% macro default__gate_results() -%}
    {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier='gate_results') -%}
    {{ relation_or_empty(relation, gate_results_empty()) }}
{%- endmacro %}

{#- Spark: the verdict files read in place (raw.gate_results, an external table over the folder). -#}
{% macro spark__gate_results() -%}
    {{ spark_lake_table('gate_results', 'gate_results', gate_result_columns()) }}
{%- endmacro %}

{% macro duckdb__gate_results() -%}
    {%- set pattern = lake_dir() ~ '/gate_results/*/dt=*.parquet' -%}
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
