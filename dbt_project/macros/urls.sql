{#- URL parts. The function that applies a pattern differs per engine, hence adapter.dispatch; the
    patterns are written once (url_regex). -#}

{#- The regular expression (a SQL literal) that finds a part of a URL in its first group: `path`
    (the path of an absolute or relative URL), `host` (of an absolute URL), `query_param` (the
    value of parameter `name`). One home for every adapter's function: Postgres' substring-from,
    DuckDB's and Spark's regexp_extract read the same pattern. -#}
{% macro url_regex(part, name=none) -%}
    {%- if part == 'path' -%}
        '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)'
    {%- elif part == 'host' -%}
        '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)'
    {%- elif part == 'query_param' -%}
        '[?&]{{ name }}=([^&#]*)'
    {%- else -%}
        {{ exceptions.raise_compiler_error("url_regex: no pattern for the URL part " ~ part) }}
    {%- endif -%}
{%- endmacro %}

{#- Path of a URL without scheme, host, query and fragment; '/' when empty. -#}
{% macro url_path(url) -%}
    {{ return(adapter.dispatch('url_path')(url)) }}
{%- endmacro %}

{% macro default__url_path(url) -%}
    coalesce(nullif(substring({{ url }} from {{ url_regex('path') }}), ''), '/')
{%- endmacro %}

{# each URL part's dispatch (path, host, query parameter): the pattern is one url_regex; only the dispatch's shape repeats #}
{#- Spark: regexp_extract and url_decode as DuckDB's (Java regex reads the pattern alike). -#}
{% macro spark__url_path(url) -%}
    {{ duckdb__url_path(url) }}
{%- endmacro %}

{% macro duckdb__url_path(url) -%}
    coalesce(nullif(regexp_extract({{ url }}, {{ url_regex('path') }}, 1), ''), '/')
{%- endmacro %}

{#- Lower-cased host of an absolute URL; null for anything else. -#}
{% macro url_host(url) -%}
    {{ return(adapter.dispatch('url_host')(url)) }}
{%- endmacro %}

{% macro default__url_host(url) -%}
    lower(nullif(substring({{ url }} from {{ url_regex('host') }}), ''))
{%- endmacro %}

{# each URL part's dispatch (path, host, query parameter): the pattern is one url_regex; only the dispatch's shape repeats #}
{#- Spark: regexp_extract and url_decode as DuckDB's (Java regex reads the pattern alike). -#}
{% macro spark__url_host(url) -%}
    {{ duckdb__url_host(url) }}
{%- endmacro %}

{% macro duckdb__url_host(url) -%}
    lower(nullif(regexp_extract({{ url }}, {{ url_regex('host') }}, 1), ''))
{%- endmacro %}

{#- The value of query parameter `name` (a literal) of a URL, percent-decoded ('+' is a space);
    null when the URL has no such parameter or it is empty. The first occurrence wins. -#}
{% macro url_query_param(url, name) -%}
    {{ return(adapter.dispatch('url_query_param')(url, name)) }}
{%- endmacro %}

{% macro default__url_query_param(url, name) -%}
    {#- no percent-decoding function in ANSI SQL: '+' and '%20' become spaces, the rest stays encoded -#}
    nullif(replace(replace(substring({{ url }} from {{ url_regex('query_param', name) }}), '+', ' '), '%20', ' '), '')
{%- endmacro %}

{#- Spark: regexp_extract and url_decode as DuckDB's (Java regex reads the pattern alike). -#}
{% macro spark__url_query_param(url, name) -%}
    {{ duckdb__url_query_param(url, name) }}
{%- endmacro %}

{% macro duckdb__url_query_param(url, name) -%}
    nullif(url_decode(replace(regexp_extract({{ url }}, {{ url_regex('query_param', name) }}, 1), '+', '%20')), '')
{%- endmacro %}

{#- GA4 export JSON, kept as text by the extract. -#}

{#- The string value of event parameter `key` (a literal) in `event_params` (the export's repeated
    {key, value: {string_value, int_value, ...}} as JSON text); null when absent. -#}
{% macro ga4_event_param(event_params, key) -%}
    {{ return(adapter.dispatch('ga4_event_param')(event_params, key)) }}
{%- endmacro %}

{% macro default__ga4_event_param(event_params, key) -%}
    nullif(trim((
        select coalesce(param -> 'value' ->> 'string_value', param -> 'value' ->> 'int_value')
        from json_array_elements(cast({{ event_params }} as json)) as param
        where param ->> 'key' = '{{ key }}'
        limit 1
    )), '')
{%- endmacro %}

{% macro duckdb__ga4_event_param(event_params, key) -%}
    nullif(trim(json_extract_string(
        list_filter(
            cast(json_extract({{ event_params }}, '$[*]') as json[]),
            lambda param: json_extract_string(param, '$.key') = '{{ key }}'
        )[1],
        '$.value.string_value'
    )), '')
{%- endmacro %}

{#- The text at `path` (a list of keys) in a JSON object kept as text; null when absent or empty. -#}
{% macro json_text(json, path) -%}
    {{ return(adapter.dispatch('json_text')(json, path)) }}
{%- endmacro %}

{% macro default__json_text(json, path) -%}
    nullif(trim(cast({{ json }} as json) #>> '{ {{- path | join(",") -}} }'), '')
{%- endmacro %}

{#- Spark: the array parsed with from_json, the parameter found with filter (DuckDB's list_filter). -#}
{% macro spark__ga4_event_param(event_params, key) -%}
    nullif(trim(element_at(
        filter(
            from_json({{ event_params }}, 'array<struct<key: string, value: struct<string_value: string>>>'),
            param -> param.key = '{{ key }}'
        ),
        1
    ).value.string_value), '')
{%- endmacro %}

{% macro spark__json_text(json, path) -%}
    nullif(trim(get_json_object({{ json }}, '$.{{ path | join(".") }}')), '')
{%- endmacro %}

{% macro duckdb__json_text(json, path) -%}
    nullif(trim(json_extract_string({{ json }}, '$.{{ path | join(".") }}')), '')
{%- endmacro %}
