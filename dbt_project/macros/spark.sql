{#- Apache Spark (dbt-spark, DBT_TARGET=spark; docs/portability.md, "Spark"): what differs from the
    SQL the DuckDB and Postgres targets share. The lake's raw sources are read in place
    (spark_lake_relation in macros/lake.sql); the constructs below are dispatched from their own
    macros (spark__… beside the duckdb__ and postgres__ versions) where those live. -#}

{#- A column type as the target writes it: `type` as DuckDB and Postgres spell it (varchar,
    double precision, integer, ...), Spark's name for it on Spark (varchar needs a length there,
    double precision is not a Spark type). The one translation: casts, typed empty relations
    (typed_columns) and seed columns (spark__create_csv_table) go through it. -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro sql_type(type) -%}
    {{- return(adapter.dispatch('sql_type')(type)) -}}
{%- endmacro %}

{% macro default__sql_type(type) -%}
    {{- return(type) -}}
{%- endmacro %}

{% macro spark__sql_type(type) -%}
    {%- set name = type | trim | lower -%}
    {%- if name in ('varchar', 'text') or name.startswith('varchar(') or name.startswith('character varying') -%}
        {{- return('string') -}}
    {%- elif name in ('double precision', 'float8', 'float') -%}
        {{- return('double') -}}
    {%- elif name.endswith('[]') -%}
        {{- return('array<' ~ spark__sql_type(name[:-2]) ~ '>') -}}
    {%- endif -%}
    {{- return(type) -}}
{%- endmacro %}

{#- dbt-spark's seed table, with each configured column type (column_types, written for DuckDB and
    Postgres) translated by sql_type. Otherwise dbt-spark's own create_csv_table. -#}
{% macro spark__create_csv_table(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
  {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
            {%- set type = sql_type(column_override.get(col_name, inferred_type)) -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }} {%- if not loop.last -%}, {%- endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ location_clause() }}
  {% endset %}
  {% call statement('_') -%}
    {{ sql }}
  {%- endcall %}
  {{ return(sql) }}
{% endmacro %}

{#- The lake files under `folder` (a path below the lake, e.g. 'gate_results') as the external table
    raw.<name> with `columns` ((name, type) pairs): Parquet (or `format`, with its reader's `options`) read recursively, typed, so a folder
    without files yet (no gate ran, no activation) is an empty table, not an error. Recreated on
    every run (dropping an external table leaves its files), so it follows INTENT_LAKE_DIR.
    Returns the relation. -#}
{% macro spark_lake_table(name, folder, columns, format='parquet', options={}) -%}
    {%- set relation = api.Relation.create(schema='raw', identifier=name) -%}
    {%- if execute -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- set ddl -%}
            create table {{ relation }} (
            {%- for column, type in columns %}
                {{ column }} {{ sql_type(type) }}{{ "," if not loop.last }}
            {%- endfor %}
            )
            using {{ format }}
            options (recursiveFileLookup 'true'{% for key, value in options.items() %}, {{ key }} '{{ value }}'{% endfor %})
            location '{{ lake_dir() ~ "/" ~ folder }}'
        {%- endset -%}
        {%- do run_query(ddl) -%}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{#- dbt-spark's seed rows, written as typed literals (each column's type through sql_type): its own
    loader binds the values into the SQL text unescaped in session mode, so a value with a quote
    (Google's) broke the statement. A quote or backslash in a value is written chr(39) or chr(92), the
    same under either spark.sql.parser.escapedStringLiterals. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set types = [] -%}
  {%- for col_name in agate_table.column_names -%}
      {%- do types.append(sql_type(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)))) -%}
  {%- endfor -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
      {%- set sql -%}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for value in row -%}
                  {%- if value is none -%}
                      cast(null as {{ types[loop.index0] }})
                  {%- else -%}
                      cast('{{ (value | string) | replace("'", "' || chr(39) || '") | replace("\\", "' || chr(92) || '") }}' as {{ types[loop.index0] }})
                  {%- endif -%}
                  {%- if not loop.last %}, {% endif -%}
              {%- endfor -%})
              {%- if not loop.last %},{% endif %}
          {% endfor %}
      {%- endset -%}
      {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
      {%- do statements.append(sql) if loop.first -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- The materialization of the models that update their table with delete+insert (the incremental
    days of docs/incremental.md, the kept histories, stable person ids): incremental, but a table
    rebuilt whole on Spark, whose Parquet tables have no DELETE (that needs Delta or Iceberg, whose
    jars are not installed here). So on Spark every run is a full build: is_incremental() is false,
    the hooks' deletes do nothing, and what only past runs knew (a retired person id, a score's
    history) is not kept. docs/portability.md, "Spark". -#}
{% macro incremental_or_table() -%}
    {{- return('table' if target.type == 'spark' else 'incremental') -}}
{%- endmacro %}

{#- dbt's contract check on Spark: the empty relation of the declared columns, each data_type (written
    for DuckDB and Postgres in the models' YAML) translated by sql_type, so `varchar` is Spark's string. -#}
{% macro spark__get_empty_schema_sql(columns) -%}
    select
    {%- for name, column in columns.items() %}
        cast(null as {{ sql_type(column['data_type']) }}) as {{ adapter.quote(name) if column.get('quote') else name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The contracts' not_null constraints on Spark. dbt-spark sets them with ALTER COLUMN ... SET NOT
    NULL, which only Delta tables take (the tables here are Parquet, no Delta jars): the table is
    checked instead, and a null in such a column fails the model with the column's name, as DuckDB's
    and Postgres's NOT NULL would. The project declares no other kind of constraint. -#}
{% macro spark__persist_constraints(relation, model) %}
  {%- if config.get('contract').enforced -%}
    {%- for name, column in model.columns.items() -%}
      {%- for constraint in column.get('constraints', []) -%}
        {%- if constraint.type == 'not_null' -%}
          {%- set quoted = adapter.quote(name) if column.get('quote') else name -%}
          {%- set nulls = run_query('select count(*) from ' ~ relation ~ ' where ' ~ quoted ~ ' is null').columns[0].values()[0] -%}
          {%- if nulls > 0 -%}
            {{ exceptions.raise_compiler_error(relation ~ '.' ~ name ~ ' is declared not null (contract) and has ' ~ nulls ~ ' null rows') }}
          {%- endif -%}
        {%- elif constraint.type -%}
          {{ exceptions.raise_compiler_error(relation ~ '.' ~ name ~ ': a ' ~ constraint.type ~ ' constraint cannot be enforced on a Spark Parquet table') }}
        {%- endif -%}
      {%- endfor -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{#- Seconds since 1970-01-01 00:00 of a timestamp (naive UTC), fractional. -#}
{% macro epoch_seconds(timestamp) -%}
    {{ return(adapter.dispatch('epoch_seconds')(timestamp)) }}
{%- endmacro %}

{% macro default__epoch_seconds(timestamp) -%}
    extract(epoch from {{ timestamp }})
{%- endmacro %}

{#- Spark has no epoch field; the session's time zone is UTC (profiles.yml), so the cast keeps the time. -#}
{% macro spark__epoch_seconds(timestamp) -%}
    (unix_micros(cast({{ timestamp }} as timestamp)) / 1000000.0)
{%- endmacro %}

{#- row_number() in the order the rows were stored (a seed's lines): DuckDB and Postgres scan a table
    in that order; Spark wants an ORDER BY, and a seed table's single file is read in order. -#}
{% macro stored_order_row_number() -%}
    {{ return(adapter.dispatch('stored_order_row_number')()) }}
{%- endmacro %}

{% macro default__stored_order_row_number() -%}
    row_number() over ()
{%- endmacro %}

{% macro spark__stored_order_row_number() -%}
    row_number() over (order by monotonically_increasing_id())
{%- endmacro %}

{#- dbt.listagg on Spark with its order: dbt-spark's own drops the `order by` (a warning), and the
    project's lists are ordered (pinyin syllables by position, sources by name, reasons by points).
    `order_by_clause` is `order by <expression> [asc|desc], ...` (expressions without commas; a `desc`
    one must be a number: it is sorted negated). The values are sorted as structs (keys..., value) with
    array_sort's natural order: ties come out by value, and a null key sorts first, where DuckDB puts
    it last (no comparator lambda: Spark 3.5 did not resolve one over collect_list's structs). A
    `distinct` measure is sorted by itself. Nulls are skipped and no value gives null, as string_agg. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause=none, limit_num=none) -%}
    {%- set text = measure | trim -%}
    {%- set distinct = text.lower().startswith('distinct ') -%}
    {%- set value = text[9:] if distinct else text -%}
    {%- set order = (order_by_clause or '') | trim -%}
    {%- set fields = [] -%}
    {%- for part in (order[9:] if order.lower().startswith('order by ') else '').split(',') if part | trim -%}
        {%- set words = part | trim -%}
        {%- if words.lower().endswith(' desc') -%}{%- set key = '-(' ~ (words[:-5] | trim) ~ ')' -%}
        {%- elif words.lower().endswith(' asc') -%}{%- set key = words[:-4] | trim -%}
        {%- else -%}{%- set key = words -%}{%- endif -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ key) -%}
    {%- endfor -%}
    {%- if distinct -%}
        {%- set collected = 'array_sort(collect_set(' ~ value ~ '))' -%}
    {%- elif fields -%}
        {%- set collected = "transform(array_sort(collect_list(case when (" ~ value ~ ") is not null then named_struct("
            ~ fields | join(', ') ~ ", 'v', " ~ value ~ ") end)), item -> item.v)" -%}
    {%- else -%}
        {%- set collected = 'collect_list(' ~ value ~ ')' -%}
    {%- endif -%}
    {%- if limit_num -%}{%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}{%- endif -%}
    transform(array({{ collected }}), items -> case when size(items) > 0 then array_join(items, {{ delimiter_text }}) end)[0]
{%- endmacro %}

{#- `call statements(...)` where a block holds several statements (`drop …; create … as …;`, one per
    line end): dbt's `statement` with the block as it is on DuckDB and Postgres, one statement at a
    time where the engine takes one per call (Spark's session: `spark.sql` parses one). The name and
    the fetched result belong to the last statement. Not an override of dbt's `statement` itself:
    dbt runs a Python model only from its own `statement` called by the materialization. -#}
{% macro statements(name=None, fetch_result=False, auto_begin=True) -%}
    {%- if execute -%}
        {%- set parts = sql_statements(caller()) -%}
        {%- for part in parts -%}
            {%- call statement(name if loop.last else none, fetch_result=(fetch_result and loop.last), auto_begin=auto_begin) -%}
                {{ part }}
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A hook of several statements: the SQL as it is (dbt runs the hook as one block) where the engine
    takes a block; on Spark the statements run here, one by one, and the hook dbt runs is empty. -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro hook_statements(sql) -%}
    {{- return(adapter.dispatch('hook_statements')(sql)) -}}
{%- endmacro %}

{% macro default__hook_statements(sql) -%}
    {{- return(sql) -}}
{%- endmacro %}

{% macro spark__hook_statements(sql) -%}
    {%- if not execute -%}{{- return(sql) -}}{%- endif -%}
    {%- call statements() -%}{{ sql }}{%- endcall -%}
    {{- return('') -}}
{%- endmacro %}

{#- The statements of a block, as the engine must be sent them: one block (default) or, on Spark, one
    statement at a time (split where a line ends with `;`; a part with nothing but comments dropped). -#}
{% macro sql_statements(code) -%}
    {{ return(adapter.dispatch('sql_statements')(code)) }}
{%- endmacro %}

{% macro default__sql_statements(code) -%}
    {{ return([code]) }}
{%- endmacro %}

{% macro spark__sql_statements(code) -%}
    {%- set parts = [] -%}
    {%- for part in modules.re.split(';[ \t]*(?:\n|$)', code) -%}
        {%- if modules.re.sub('(?m)^\s*--.*$', '', part) | trim -%}
            {%- do parts.append(part) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts if parts else [code]) }}
{%- endmacro %}

{#- A whole row (`alias`, a table alias in the from clause) as one text, for fingerprints: DuckDB and
    Postgres cast the row itself; Spark has no cast of a row, its JSON stands in (a text of every
    column too; not the same text as DuckDB's, so a fingerprint belongs to its engine). -#}
{% macro row_as_text(alias) -%}
    {{ return(adapter.dispatch('row_as_text')(alias)) }}
{%- endmacro %}

{% macro default__row_as_text(alias) -%}
    cast({{ alias }} as {{ sql_type('varchar') }})
{%- endmacro %}

{% macro spark__row_as_text(alias) -%}
    to_json(struct({{ alias }}.*))
{%- endmacro %}

{#- dbt.split_part on Spark: Spark's own split_part (3.3+; the delimiter taken literally, parts
    counted from 1, from the end when negative, '' past the last, as DuckDB's). dbt-spark's version
    splits with a regex it escapes with '\\', which under spark.sql.parser.escapedStringLiterals (the
    project's setting) is two backslashes: `crm_lead:00Q1` split on ':' was not split at all. -#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{#- Does the engine run `with recursive`? DuckDB and Postgres do; Spark 3.5 does not. -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro recursive_ctes() -%}
    {{ return(adapter.dispatch('recursive_ctes')()) }}
{%- endmacro %}

{% macro default__recursive_ctes() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__recursive_ctes() -%}
    {{ return(false) }}
{%- endmacro %}

{#- The recursive CTE of int_identity_merged_ids in rounds, for an engine without recursive CTEs:
    every (person_id, merged_person_id) such that merged_person_id was merged into person_id
    directly or through a chain, from `merges` (a select of from_person_id, to_person_id). Round 0
    holds the direct merges; each round adds one more link of every chain (`union`: distinct, as
    the recursive CTE's); it stops when a round adds nothing, the recursive CTE's fixed point. A
    guard stops with an error after `max_rounds` (var identity_merge_max_rounds) instead of
    returning a partial closure. Runs at execution time; returns the scratch table holding it. -#}
{% macro merge_closure(merges, scratch, max_rounds=none) %}
    {%- set max_rounds = (max_rounds or var('identity_merge_max_rounds', 100)) | int -%}
    {%- set closure = scratch.incorporate(path={'identifier': scratch.identifier ~ '__merged_into'}) -%}
    {%- set next_closure = scratch.incorporate(path={'identifier': scratch.identifier ~ '__merged_into_next'}) -%}
    {%- call statements('merge_closure_setup') -%}
        drop table if exists {{ closure }};
        drop table if exists {{ next_closure }};
        create table {{ closure }} as
        select distinct to_person_id as person_id, from_person_id as merged_person_id
        from ({{ merges }}) as merges;
    {%- endcall -%}
    {%- set ns = namespace(done=false) -%}
    {%- for round in range(max_rounds) if not ns.done -%}
        {%- call statements('merge_closure_round') -%}
            drop table if exists {{ next_closure }};
            create table {{ next_closure }} as
            select person_id, merged_person_id from {{ closure }}
            union
            select merged_into.person_id, merges.from_person_id
            from {{ closure }} as merged_into
            inner join ({{ merges }}) as merges
                on merges.to_person_id = merged_into.merged_person_id;
        {%- endcall -%}
        {%- set added = run_query("select (select count(*) from " ~ next_closure ~ ") - (select count(*) from " ~ closure ~ ")").columns[0].values()[0] -%}
        {%- call statements('merge_closure_swap') -%}
            drop table {{ closure }};
            alter table {{ next_closure }} rename to {{ closure.identifier }};
        {%- endcall -%}
        {%- if added == 0 -%}{%- set ns.done = true -%}{%- endif -%}
    {%- endfor -%}
    {%- if not ns.done -%}
        {{ exceptions.raise_compiler_error("merge_closure: a chain of merges longer than " ~ max_rounds ~ " rounds (var identity_merge_max_rounds)") }}
    {%- endif -%}
    {{ return(closure) }}
{% endmacro %}

{#- post_hook of int_identity_merged_ids: drop merge_closure's table (none on DuckDB and Postgres). -#}
{% macro merge_closure_cleanup(relation) -%}
    {%- if not recursive_ctes() -%}
        drop table if exists {{ relation.incorporate(path={'identifier': relation.identifier ~ '__merged_into'}) }}
    {%- endif -%}
{%- endmacro %}

{#- A number with a decimal point as a divisor: `86400.0` as written on DuckDB and Postgres (DuckDB
    divides an integer by it as a double), a double literal on Spark (`86400.0D`), where `86400.0` is a
    decimal(6,1) and the quotient a decimal rounded to 6 or 7 places (`11.9166667` where DuckDB has
    11.916666666666666). -#}
{% macro float_literal(text) -%}
    {{ return(adapter.dispatch('float_literal')(text)) }}
{%- endmacro %}

{% macro default__float_literal(text) -%}
    {{ return(text) }}
{%- endmacro %}

{% macro spark__float_literal(text) -%}
    {{ return(text ~ 'D') }}
{%- endmacro %}

{#- A linear recursive CTE (`with recursive r as (anchor union all step)`) evaluated in rounds, for an
    engine without recursive CTEs: round 1 is `anchor`; each next round is `step` run on the rows the
    round before it added (`step` names them `__previous__`); it stops at the first round that adds
    no row, the recursive CTE's own end. The rows of every round, as the recursive CTE returns them,
    are left in the scratch table `<scratch>__<name>` (returned); a guard stops with an error after
    `max_rounds` (var recursive_max_rounds, default 100) rather than return part of them. Runs at
    execution time; recursive_rounds_cleanup drops what it leaves. -#}
{% macro union_all_in_rounds(name, anchor, step, scratch, max_rounds=none) %}
    {%- set max_rounds = (max_rounds or var('recursive_max_rounds', 100)) | int -%}
    {%- set rows = scratch.incorporate(path={'identifier': scratch.identifier ~ '__' ~ name}) -%}
    {%- set last = scratch.incorporate(path={'identifier': scratch.identifier ~ '__' ~ name ~ '_round'}) -%}
    {%- set next = scratch.incorporate(path={'identifier': scratch.identifier ~ '__' ~ name ~ '_next'}) -%}
    {%- call statements('union_all_in_rounds_setup') -%}
        drop table if exists {{ rows }};
        drop table if exists {{ last }};
        drop table if exists {{ next }};
        create table {{ last }} as {{ anchor }};
        create table {{ rows }} as select * from {{ last }};
    {%- endcall -%}
    {%- set ns = namespace(done=false) -%}
    {%- for round in range(max_rounds) if not ns.done -%}
        {%- call statements('union_all_in_rounds_step') -%}
            drop table if exists {{ next }};
            create table {{ next }} as {{ step | replace('__previous__', last | string) }};
        {%- endcall -%}
        {%- set added = run_query('select count(*) from ' ~ next).columns[0].values()[0] -%}
        {%- if added == 0 -%}
            {%- set ns.done = true -%}
        {%- else -%}
            {%- call statements('union_all_in_rounds_add') -%}
                insert into {{ rows }} select * from {{ next }};
                drop table {{ last }};
                alter table {{ next }} rename to {{ last.identifier }};
            {%- endcall -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not ns.done -%}
        {{ exceptions.raise_compiler_error("union_all_in_rounds: " ~ name ~ " still added rows after " ~ max_rounds ~ " rounds (var recursive_max_rounds)") }}
    {%- endif -%}
    {%- call statements('union_all_in_rounds_done') -%}
        drop table if exists {{ last }};
        drop table if exists {{ next }};
    {%- endcall -%}
    {{ return(rows) }}
{% endmacro %}

{#- post_hook of a model that used union_all_in_rounds(name, ...): drop its table (none where the
    engine has recursive CTEs). -#}
{% macro recursive_rounds_cleanup(relation, name) -%}
    {%- if not recursive_ctes() -%}
        drop table if exists {{ relation.incorporate(path={'identifier': relation.identifier ~ '__' ~ name}) }}
    {%- endif -%}
{%- endmacro %}

{#- `text` as a string literal. DuckDB and Postgres double a quote inside it; Spark reads `'a''b'` as
    two adjacent literals, 'a' and 'b', concatenated (`'[^'']*'` was the regex `[^]*` there), so on
    Spark a quote is chr(39) between literals (as the seeds' loader writes it). -#}
{% macro text_literal(text) -%}
    {{ return(adapter.dispatch('text_literal')(text)) }}
{%- endmacro %}

{% macro default__text_literal(text) -%}
    {{ return("'" ~ text | replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro spark__text_literal(text) -%}
    {%- if "'" not in text -%}{{ return("'" ~ text ~ "'") }}{%- endif -%}
    {{ return("concat('" ~ text | replace("'", "', chr(39), '") ~ "')") }}
{%- endmacro %}

{#- dbt.dateadd on Spark: `timestampadd`, which keeps the fraction of a second. dbt-spark's own goes
    through to_unix_timestamp (whole seconds): the funnel's window_end_at lost its microseconds
    (`13:38:42` where DuckDB has `13:38:42.040751`). The quantity is cast to bigint as dbt-duckdb
    does, rounded first as DuckDB's cast rounds (Spark's truncates); the result is a timestamp, as
    DuckDB's date + interval is. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set unit = datepart | lower -%}
    {%- if unit not in ['microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart '" ~ datepart ~ "' is not one Spark's timestampadd takes") }}
    {%- endif -%}
    timestampadd({{ unit | upper }}, cast(round({{ interval }}) as bigint), cast({{ from_date_or_timestamp }} as timestamp))
{%- endmacro %}
