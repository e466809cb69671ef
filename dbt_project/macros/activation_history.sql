{#- The activation ledger's history (source activation: Parquet that activation writes to
    <lake>/activation, plugins/intent_pipeline/activation/history.py). Before the first activation
    there are no files yet and read_parquet would fail on the empty glob: then the table is empty,
    with the same columns and types. -#}
{% macro activation_history(table) -%}
    {%- set relation = source('activation', table) -%}
    {{ return(adapter.dispatch('activation_history')(table, relation)) }}
{%- endmacro %}

{% macro default__activation_history(table, relation) -%}
    {{ relation }}
{%- endmacro %}

{% macro duckdb__activation_history(table, relation) -%}
    {%- set pattern = lake_dir() ~ '/activation/' ~ table ~ '/*/*.parquet' -%}
    {{ files_or_empty(pattern, relation, activation_history_empty(table)) }}
{%- endmacro %}

{#- Spark: the history files read in place (raw.<table>, an external table over the folder). -#}
{% macro spark__activation_history(table, relation) -%}
    {{ spark_lake_table(table, 'activation/' ~ table, activation_history_columns(table).items()) }}
{%- endmacro %}

{#- Postgres: the tables are loaded into schema raw by intent_pipeline.postgres_load, which leaves
    no table before the first activation. -#}
{% macro postgres__activation_history(table, relation) -%}
    {{ relation_or_empty(relation, activation_history_empty(table)) }}
{%- endmacro %}

{#- DuckDB reading the lake: `relation` when a file matches the glob `pattern`, else (read_parquet
    and read_json_objects fail on an empty glob) the typed empty relation `empty`. -#}
{% macro files_or_empty(pattern, relation, empty) -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        {{ relation }}
    {%- else -%}
        {{ empty }}
    {%- endif -%}
{%- endmacro %}

{#- A loaded table, or (while it does not exist yet) the typed empty relation `empty`. -#}
{% macro relation_or_empty(relation, empty) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
    {%- endif -%}
    {%- if found is not none -%}
        {{ relation }}
    {%- else -%}
        {{ empty }}
    {%- endif -%}
{%- endmacro %}

{% macro activation_history_empty(table) -%}
        (select
        {%- for name, type in activation_history_columns(table).items() %}
            cast(null as {{ sql_type(type) }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where false) as empty_history
{%- endmacro %}

{#- The columns history.py writes (RUN_SCHEMA, ROW_LOG_SCHEMA, DEAD_LETTER_SCHEMA, TOLD_SCHEMA), for the empty table. -#}
{% macro activation_history_columns(table) -%}
    {%- set counts = {'planned': 'bigint', 'sent_ok': 'bigint', 'unchanged': 'bigint', 'rejected': 'bigint',
        'invalid': 'bigint', 'deferred': 'bigint', 'dead_lettered': 'bigint', 'stale': 'bigint',
        'requests': 'bigint'} -%}
    {%- set columns = {
        'activation_runs': {'interval_start': 'date', 'run_id': 'varchar', 'destination': 'varchar',
            'execution': 'bigint', 'started_at': 'timestamp', 'finished_at': 'timestamp', 'mode': 'varchar'},
        'activation_row_log': {'interval_start': 'date', 'run_id': 'varchar', 'destination': 'varchar',
            'execution': 'bigint', 'record_key': 'varchar', 'outcome': 'varchar', 'reason': 'varchar'},
        'activation_dead_letter': {'destination': 'varchar', 'record_key': 'varchar', 'attempts': 'bigint',
            'last_error': 'varchar', 'last_run_id': 'varchar'},
        'activation_told': {'destination': 'varchar', 'record_key': 'varchar', 'told_interval': 'date'},
    }[table] -%}
    {%- if table == 'activation_runs' -%}
        {%- do columns.update(counts) -%}
        {%- do columns.update({'error': 'varchar'}) -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}
