{#- Where the raw lake is, read only when dbt runs a node, never while it parses the project.

    dbt's saved parse (target/partial_parse.msgpack) records every env_var() a file calls while
    it is parsed, and re-parses those files (and, for a source YAML, every model and test through
    the sources) when the variable's value changes. The lake's path differs between installations,
    copies and test folders, so nothing reads INTENT_LAKE_DIR at parse time: the sources'
    external_location says `$INTENT_LAKE_DIR` and the project's source() below puts the path in
    when the node is compiled for a run (`execute`). The macros that list the lake's files
    (lake_files, files_or_empty's callers) take the path from lake_dir() the same way.
    docs/incremental.md, "What dbt parses". -#}

{#- The placeholder the sources' external_location and the parse-time renders carry. -#}
{% macro lake_dir_placeholder() -%}
    {{- return('$INTENT_LAKE_DIR') -}}
{%- endmacro %}

{#- INTENT_LAKE_DIR when a node runs; the placeholder while dbt parses (nothing is read then).
    The path must be absolute (or a URL): the staging views keep it in their SQL, and DuckDB would
    resolve a relative one against each reader's working directory, not the build's
    (docs/dbt-parse.md, "The staging views hold the lake's path"). -#}
{% macro lake_dir() -%}
    {%- if not execute -%}
        {{- return(lake_dir_placeholder()) -}}
    {%- endif -%}
    {%- set path = env_var('INTENT_LAKE_DIR') -%}
    {%- if not (path.startswith('/') or path.startswith('\\') or modules.re.match('[A-Za-z]:[/\\\\]|[A-Za-z][A-Za-z0-9+.-]*://', path)) -%}
        {{- exceptions.raise_compiler_error("INTENT_LAKE_DIR must be an absolute path or a URL (the staging views keep it), got '" ~ path ~ "': use e.g. $PWD/" ~ path) -}}
    {%- endif -%}
    {{- return(path) -}}
{%- endmacro %}

{#- dbt's source(), with the lake's path put into a DuckDB source's external_location when the
    node runs (dbt-duckdb renders a source with an external location as that location). Other
    relations (the postgres target's raw tables, a unit test's fixture) are dbt's own. -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if target.type == 'spark' -%}
        {{- return(spark_lake_relation(relation, source_name, table_name)) -}}
    {%- endif -%}
    {%- set external = relation.external if relation.external is defined else none -%}
    {%- if execute and external and lake_dir_placeholder() in external -%}
        {%- set path = lake_dir() | replace("'", "''") -%}
        {%- set relation = relation.incorporate(external=external | replace(lake_dir_placeholder(), path)) -%}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{#- Spark: the source's files read in place, `parquet`.`<path>` (Spark's own Parquet reader; partitions
    whose columns differ are merged by name: spark.sql.parquet.mergeSchema in profiles.yml). The path is
    the one in the source's external_location (read_parquet('<path>', ...)), so it is written once.
    A source without one (a unit test's fixture) stays dbt's relation. -#}
{% macro spark_lake_relation(relation, source_name, table_name) -%}
    {%- if not execute -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name) | first -%}
    {%- set external = (node.meta or {}).get('external_location') or (node.source_meta or {}).get('external_location') -%}
    {%- set found = modules.re.search("read_parquet\\('([^']*)'", external or '') -%}
    {%- if not found -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set path = found.group(1) | replace('{name}', table_name) | replace(lake_dir_placeholder(), lake_dir()) -%}
    {{- return(api.Relation.create(schema='parquet', identifier=path, quote_policy={'schema': true, 'identifier': true})) -}}
{%- endmacro %}
