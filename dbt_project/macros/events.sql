{#- The columns of int_events_unified's event stream, in order, with their types: the one list every
    event kind's select follows. -#}
{% macro event_stream_columns() -%}
    {{ return([
        ('event_id', 'varchar'), ('person_id', 'varchar'), ('event_at', 'timestamp'), ('source', 'varchar'),
        ('event_type', 'varchar'), ('form_type', 'varchar'), ('page_path', 'varchar'),
        ('engagement_seconds', 'double precision'), ('session_key', 'varchar'), ('utm_source', 'varchar'),
        ('utm_medium', 'varchar'), ('utm_campaign', 'varchar'), ('gclid', 'varchar'), ('referrer_host', 'varchar'),
        ('lead_source', 'varchar'), ('amount', 'double precision'), ('currency', 'varchar'),
        ('amount_reporting', 'decimal(38, 8)'), ('is_rate_missing', 'boolean'),
    ]) }}
{%- endmacro %}

{#- One event kind's select list: every column of the stream, its expression from `values` (a dict
    column -> SQL) or a typed null where the kind has none, so that the kinds union by position. -#}
{% macro event_stream_select(values) -%}
    {%- set names = event_stream_columns() | map(attribute=0) | list -%}
    {%- for name in values if name not in names -%}
        {{ exceptions.raise_compiler_error("event_stream_select: " ~ name ~ " is no column of the event stream") }}
    {%- endfor -%}
    {%- for name, type in event_stream_columns() %}
        {{ values[name] if name in values else 'cast(null as ' ~ sql_type(type) ~ ')' }} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
