{#- Whether activation may contact a person of marts.people: reachable by email, not a customer,
    not opted out (unsubscribed or reported spam) or bounced. One definition for every segment. -#}
{% macro is_contactable(people) -%}
    (
        {{ people }}.email is not null
        and not {{ people }}.is_customer
        and not {{ people }}.is_unsubscribed
        and not {{ people }}.is_bounced
    )
{%- endmacro %}
