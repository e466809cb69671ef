{#- One node of the identity graph, e.g. `email:li.na@example.com`. The prefix keeps identifiers of
    different kinds apart (a phone never equals a client id) and makes the node readable. -#}
{% macro node_key(identifier_type, value) -%}
    ('{{ identifier_type }}:' || {{ value }})
{%- endmacro %}

{#- True when an identifier is a shared placeholder listed in the seed `identity_blocklist`
    (role mailboxes such as info@, placeholder phones): such values must not glue strangers. -#}
{% macro is_blocked_identifier(identifier_type, value) -%}
    exists (
        select 1
        from {{ ref('identity_blocklist') }} as blocklist
        where blocklist.identifier_type = '{{ identifier_type }}'
            and {{ value }} like blocklist.pattern
    )
{%- endmacro %}
