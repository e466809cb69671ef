{#- A select list of `columns` (a list of (name, type) pairs, in order): each column cast to its
    type, or with null_values a typed null (the columns of an empty relation). The one place a
    record's column list is spelled out serves both the model's casts and its empty relation.
    `relation`: the columns read qualified by it (a select that joins another relation). -#}
{% macro typed_columns(columns, null_values=false, relation=none) -%}
    {%- for name, type in columns %}
        cast({{ 'null' if null_values else (relation ~ '.' if relation else '') ~ name }} as {{ sql_type(type) }}) as {{ name }}{{ "," if not loop.last }}
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

{#- A person's fields as a CRM lead and a form submission both carry them: emails and phones are
    normalised by the extract, phone_raw is as typed; an empty field is unknown (null). -#}
{% macro person_columns() -%}
    nullif(trim(email), '') as email,
        nullif(trim(phone), '') as phone,
        phone_raw,
        nullif(trim(full_name), '') as full_name,
        nullif(trim(company), '') as company,
        nullif(trim(job_title), '') as job_title,
        nullif(trim(industry), '') as industry,
        nullif(trim(company_size), '') as company_size
{%- endmacro %}
