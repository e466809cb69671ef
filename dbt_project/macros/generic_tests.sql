{#- Generic data tests this project needs without pulling in a package (the DAG runs offline). -#}

{#- No two rows share the same values in `columns`. -#}
{% test unique_combination_of_columns(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as copies
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
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

{#- Every value of `column` lies within [min_value, max_value] (either bound optional). -#}
{% test within_range(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }}
    from {{ model }}
    where
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}
