{#- Generic data tests this project needs without pulling in a package (the DAG runs offline). -#}

{#- Every column rule of one model in one query (issue 20: dbt's fixed cost is per node, and one node
    per column and rule made data tests half of a daily build's nodes). Returns one row per violated
    rule: the column(s), the rule, how many rows (or duplicated values) break it and a sample value, so
    a failure names what broke. The rules, each as dbt's test of the same name checks it:
      not_null:            [column, ...]                 the column is never null
      unique:              [column, ...]                 no two rows share a non-null value
      accepted_values:     {column: [value, ...]}        a non-null value is one of these (quoted as
                           {column: {values: [...], quote: false}}   strings unless quote is false)
      within_range:        {column: {min_value: a, max_value: b}}    a non-null value lies in [a, b]
                                                                      (either bound optional)
      unique_combinations: [[column, ...], ...]          no two rows share the values of these columns
    Severity is the test's own (config: severity: warn): warn rules go in a second column_rules test. -#}
{% test column_rules(model, not_null=[], unique=[], accepted_values={}, within_range={}, unique_combinations=[]) %}
    {%- set text = dbt.type_string() -%}
    {%- set row_checks = [] -%}
    {%- for column in not_null -%}
        {%- do row_checks.append((column, 'not_null', column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column, spec in accepted_values.items() -%}
        {%- set values = spec['values'] if spec is mapping else spec -%}
        {%- set quote = spec.get('quote', true) if spec is mapping else true -%}
        {%- set listed = [] -%}
        {%- for value in values -%}
            {%- do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'" if quote else value | string) -%}
        {%- endfor -%}
        {%- do row_checks.append((column, 'accepted_values',
            column ~ ' is not null and ' ~ column ~ ' not in (' ~ listed | join(', ') ~ ')')) -%}
    {%- endfor -%}
    {%- for column, bounds in within_range.items() -%}
        {%- set outside = [] -%}
        {%- if bounds.get('min_value') is not none %}{% do outside.append(column ~ ' < ' ~ bounds['min_value']) %}{% endif -%}
        {%- if bounds.get('max_value') is not none %}{% do outside.append(column ~ ' > ' ~ bounds['max_value']) %}{% endif -%}
        {%- do row_checks.append((column, 'within_range', '(' ~ outside | join(' or ') ~ ')')) -%}
    {%- endfor -%}
    {%- set groups = [] -%}
    {%- for column in unique %}{% do groups.append(([column], 'unique')) %}{% endfor -%}
    {%- for columns in unique_combinations %}{% do groups.append((columns, 'unique_combination')) %}{% endfor -%}
    {%- if not row_checks and not groups -%}
        {{ exceptions.raise_compiler_error("column_rules on " ~ model ~ ": no rule given") }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- if row_checks %}
    with row_checks as (
        select
        {%- for column, rule, condition in row_checks %}
            sum(case when {{ condition }} then 1 else 0 end) as failing_{{ loop.index }},
            min(case when {{ condition }} then cast({{ column }} as {{ text }}) end) as sample_{{ loop.index }}
            {{- "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    )
    {%- for column, rule, condition in row_checks -%}
        {%- do parts.append("select '" ~ column ~ "' as column_name, '" ~ rule ~ "' as rule, cast(failing_"
            ~ loop.index ~ " as " ~ dbt.type_bigint() ~ ") as failing_rows, sample_" ~ loop.index
            ~ " as sample_value from row_checks where failing_" ~ loop.index ~ " > 0") -%}
    {%- endfor -%}
    {%- endif -%}
    {%- for columns, rule in groups -%}
        {%- set samples = [] -%}
        {%- for column in columns -%}
            {%- do samples.append("coalesce(cast(" ~ column ~ " as " ~ text ~ "), 'null')") -%}
        {%- endfor -%}
        {%- set not_null = " where " ~ columns[0] ~ " is not null" if rule == 'unique' else "" -%}
        {%- do parts.append("select '" ~ columns | join(', ') ~ "' as column_name, '" ~ rule
            ~ "' as rule, failing_rows, sample_value from (select cast(count(*) as " ~ dbt.type_bigint()
            ~ ") as failing_rows, min(sample_value) as sample_value from (select " ~ samples | join(" || ', ' || ")
            ~ " as sample_value from " ~ model ~ not_null ~ " group by " ~ columns | join(', ')
            ~ " having count(*) > 1) as duplicated) as counted where failing_rows > 0") -%}
    {%- endfor %}
    {{ parts | join('\n    union all\n    ') }}
{% endtest %}

{#- The sum of `column` per `group_by` is `expected` (within a rounding tolerance). -#}
{% test sums_to(model, column_name, group_by, expected=1) %}
    select
        {{ group_by | join(', ') }},
        sum({{ column_name }}) as total
    from {{ model }}
    group by {{ group_by | join(', ') }}
    having abs(sum({{ column_name }}) - {{ expected }}) > 0.000001
{% endtest %}

{#- A data test's `where` config (dbt's: the tested model replaced by a subquery of its rows), with one
    value of this project's (docs/incremental.md, "Data tests of the rows a day wrote"):
      where: "__lake_window__:_interval_start"
    checks only the rows whose `_interval_start` is in the daily build's lake window (or null) when the
    DAG's daily build says every other row was checked by an earlier successful build of the same
    project (setting tests_lake_window: env INTENT_TESTS_LAKE_WINDOW, set by pipeline.duckdb_build from
    intent_pipeline.day_skip.tests_lake_window); on a full refresh, a hand run, without an interval or
    without that setting, every row. Only for models that write exactly those rows: the lake staging
    models (lake_staging_config: the window's partitions deleted, then delete+insert on the unique key,
    so a row rule or a uniqueness rule on that key broken anywhere is broken inside the window). Any other
    `where` is dbt's own. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set marker = '__lake_window__:' -%}
    {%- if where and where.startswith(marker) -%}
        {%- set column = where[marker | length:] | trim -%}
        {%- if flags.FULL_REFRESH or not setting('tests_lake_window', false) or not lake_window_dates() -%}
            {%- do return(relation) -%}
        {%- endif -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ column ~ ' is null or '
            ~ in_lake_window(column) ~ ') dbt_subquery') -%}
    {%- elif where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
