{#- The daily build's record of its inputs (intent_pipeline.day_skip.STATE_TABLE) claims the warehouse holds
    what that build wrote, and the next daily build leaves out the nodes whose inputs did not change. A dbt
    invocation that writes (a hand `dbt run -s x`, `dbt build --vars ...`, `dbt seed`, one from another
    checkout) may change what a node holds, so it removes the record (on-run-start, dbt_project.yml): the
    next daily build builds every node. The DAG's own build takes the record out before dbt starts and
    writes it after dbt succeeded (pipeline.duckdb_build), so removing it here costs that build nothing.
    Commands that write nothing (compile, test, docs generate, show) leave it. DuckDB only: no other target
    keeps the record. -#}
{% macro forget_day_skip_record() -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH in ('build', 'run', 'seed', 'snapshot', 'retry', 'clone') -%}
        drop table if exists build_state.input_fingerprints
    {%- endif -%}
{%- endmacro %}
