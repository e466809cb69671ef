{#- Custom schemas are used as is (`staging`, `intermediate`, `marts`), not prefixed with the
    target schema: BI, GX and activation read `marts.<table>` on every target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
