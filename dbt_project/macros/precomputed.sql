{#- Materialization `precomputed`: a dbt Python model on an adapter that cannot run Python (Postgres,
    Spark in session mode).

    dbt-postgres has no Python models, dbt-spark submits them to Databricks only. On the postgres
    and spark targets the Python model attribution_touch_credits is configured `materialized:
    precomputed` (its _attribution__models.yml): the same Python code (intent_pipeline.attribution)
    runs outside dbt, in the step intent_pipeline.precomputed.run_precomputed (`python -m
    intent_pipeline attribute-postgres` on Postgres; intent_pipeline.spark_build in the Spark
    session), on the int_attribution_journeys this build made, and writes raw.<model name>; this
    materialization copies that table into the model's relation. The build runs in two phases around
    the step (postgres_load.build_postgres, spark_build.build_spark_precomputed): everything but the
    model and its children, the step, then the model and its children.

    A stale table fails the model, never silently: the step records a fingerprint of the journeys
    (row count and md5 of the rows, macro precomputed_fingerprint) and the settings it ran with in
    raw.<model name>__computed_from, and the model compares both with the journeys and its config now. -#}
{% materialization precomputed, default, supported_languages=['python', 'sql'] %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set staged = api.Relation.create(database=this.database, schema='raw', identifier=this.identifier, type='table') -%}
    {%- set stamp = api.Relation.create(database=this.database, schema='raw', identifier=this.identifier ~ '__computed_from', type='table') -%}
    {%- set input_name = config.get('precomputed_from') -%}
    {%- set settings = config.get('precomputed_settings') or [] -%}
    {%- set step = '`python -m intent_pipeline attribute-postgres`' if target.type == 'postgres' else '`python -m intent_pipeline.spark_build --precomputed`' -%}
    {%- if adapter.get_relation(database=stamp.database, schema=stamp.schema, identifier=stamp.identifier) is none -%}
        {{ exceptions.raise_compiler_error(this.identifier ~ " is computed outside dbt on this target: run " ~ step ~ " after building " ~ input_name ~ " (postgres_load.build_postgres and spark_build --precomputed do it; intent_pipeline.precomputed)") }}
    {%- endif -%}
    {%- set input_relation = ref(input_name) -%}
    {%- set now = run_query(precomputed_fingerprint(input_relation)).columns[0].values()[0] -%}
    {%- set recorded = run_query("select fingerprint, settings from " ~ stamp).rows[0] -%}
    {%- set expected_settings = [] -%}
    {%- for name in settings -%}
        {%- do expected_settings.append(name ~ '=' ~ config.get(name)) -%}
    {%- endfor -%}
    {%- if recorded[0] != now or recorded[1] != expected_settings | join(';') -%}
        {{ exceptions.raise_compiler_error(this.identifier ~ ": raw." ~ this.identifier ~ " was computed from other " ~ input_name ~ " or settings (" ~ recorded[1] ~ ", now " ~ expected_settings | join(';') ~ "): run " ~ step ~ " again") }}
    {%- endif -%}

    {{ run_hooks(pre_hooks) }}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is not none -%}
        {{ adapter.drop_relation(existing) }}
    {%- endif -%}
    {% call statement('main') -%}
        create table {{ target_relation }} as select * from {{ staged }}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {%- if target.type != 'spark' %}{# dbt-spark's session has no transaction to commit #}
    {{ adapter.commit() }}
    {%- endif %}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- One text for a table's content: its row count and the md5 of its rows as text, sorted (the
    Python side, intent_pipeline.precomputed's engines, runs the same query). -#}
{% macro precomputed_fingerprint(relation) -%}
    {{ return(adapter.dispatch('precomputed_fingerprint')(relation)) }}
{%- endmacro %}

{% macro default__precomputed_fingerprint(relation) -%}
    select count(*)::text || ':' || coalesce(md5(string_agg(rows::text, '|' order by rows::text)), '') from {{ relation }} as rows
{%- endmacro %}

{% macro spark__precomputed_fingerprint(relation) -%}
    select cast(count(*) as string) || ':' || case when count(*) = 0 then '' else md5(array_join(array_sort(collect_list(to_json(struct(rows.*)))), '|')) end from {{ relation }} as rows
{%- endmacro %}
