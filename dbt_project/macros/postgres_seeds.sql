{#
    dbt seed on Postgres: one INSERT per seed with one array parameter per column, instead of
    dbt's default (an INSERT whose VALUES list Jinja writes out row by row: 6,763 rows of
    identity_match_pinyin took 18 s of a build's node time, the other 25 seeds under 1 s each).

    The rows are the same agate rows dbt's default binds (so the values, nulls and the inferred
    types are dbt seed's), only bound per column: psycopg2 sends each column as one ARRAY[...]
    and Postgres unnests them side by side. Each array is cast to its column's type, the type the
    table was created with (create_csv_table: the seed's column_types, else the inferred type).
    Overrides dbt's default__load_csv_rows for the postgres adapter only (docs/portability.md).
#}
{% macro postgres__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set cols_sql = get_seed_column_quoted_csv(model, agate_table.column_names) -%}
    {%- set arrays = [] -%}
    {%- set bindings = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- set type = column_override.get(col_name, inferred_type) -%}
        {%- do arrays.append(get_binding_char() ~ '::' ~ type ~ '[]') -%}
        {%- do bindings.append(agate_table.columns[loop.index0].values() | list) -%}
    {%- endfor -%}
    {% set sql %}
        insert into {{ this.render() }} ({{ cols_sql }})
        select * from unnest({{ arrays | join(', ') }})
    {% endset %}
    {% do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) %}
    {{ return(sql) }}
{% endmacro %}
