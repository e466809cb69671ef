{#- The config of a table that keeps history from run to run: incremental, delete+insert on
    `unique_key` (a re-run of the same interval replaces its rows, never duplicates them), never
    rebuilt (full_refresh false: `dbt build --full-refresh` cannot wipe what only past runs knew),
    new columns appended. Called at the top of the model, in place of its own config(). -#}
{% macro kept_history_config(unique_key) -%}
    {{ config(
        materialized=incremental_or_table(),
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        full_refresh=false,
        on_schema_change='append_new_columns',
    ) }}
{%- endmacro %}
