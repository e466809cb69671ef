{#- A select list of `columns` (a list of (name, type) pairs, in order): each column cast to its
    type, or with null_values a typed null (the columns of an empty relation). The one place a
    record's column list is spelled out serves both the model's casts and its empty relation. -#}
{% macro typed_columns(columns, null_values=false) -%}
    {%- for name, type in columns %}
        cast({{ 'null' if null_values else name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The raw lake's metadata columns every staged row keeps (docs/contracts.md, "Raw lake"), in order,
    as the last items of a staging model's select list. -#}
{% macro lake_lineage_columns() -%}
    _source_file,
        _row_number,
        _loaded_at,
        _batch_id,
        _interval_start
{%- endmacro %}
