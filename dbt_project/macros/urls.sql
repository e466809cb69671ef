{#- URL parts. Regex syntax differs per engine, hence adapter.dispatch. -#}

{#- Path of a URL without scheme, host, query and fragment; '/' when empty. -#}
{% macro url_path(url) -%}
    {{ return(adapter.dispatch('url_path')(url)) }}
{%- endmacro %}

{% macro default__url_path(url) -%}
    coalesce(nullif(substring({{ url }} from '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)'), ''), '/')
{%- endmacro %}

{% macro duckdb__url_path(url) -%}
    coalesce(nullif(regexp_extract({{ url }}, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1), ''), '/')
{%- endmacro %}

{#- Lower-cased host of an absolute URL; null for anything else. -#}
{% macro url_host(url) -%}
    {{ return(adapter.dispatch('url_host')(url)) }}
{%- endmacro %}

{% macro default__url_host(url) -%}
    lower(nullif(substring({{ url }} from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)'), ''))
{%- endmacro %}

{% macro duckdb__url_host(url) -%}
    lower(nullif(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)', 1), ''))
{%- endmacro %}
