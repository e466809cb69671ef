{#- One node of the identity graph, e.g. `email:lina@gmail.com`. The prefix keeps identifiers of
    different kinds apart (a phone never equals a client id) and makes the node readable. Emails
    are keyed by their canonical mailbox (see canonical_email), so every spelling that reaches the
    same inbox is one node. -#}
{% macro node_key(identifier_type, value) -%}
    {%- if identifier_type == 'email' -%}
        ('email:' || {{ canonical_email(value) }})
    {%- else -%}
        ('{{ identifier_type }}:' || {{ value }})
    {%- endif -%}
{%- endmacro %}

{#- Each CRM lead of ``leads`` (a relation with lead_id) with its person: the person whose identity
    component holds the lead's crm_lead node (int_people_resolved). A lead without a node has no row. -#}
{% macro crm_lead_people(leads) -%}
    select
        {{ leads }}.lead_id,
        people_nodes.person_id
    from {{ leads }}
    {{ join_lead_person(leads ~ '.lead_id', relation=ref('int_people_resolved')) }}
{%- endmacro %}

{#- The join that finds a CRM lead's person: the person whose identity component holds the lead's
    crm_lead node (a row of int_people_resolved). `lead_id` is the lead's column; `nodes` the alias
    the person's row goes by (an import CTE of int_people_resolved named people_nodes, unless
    `relation` names what is joined under that alias); `how` is inner (a lead without a node has
    no row) or left. -#}
{% macro join_lead_person(lead_id, nodes='people_nodes', how='inner', relation=none) -%}
    {{ how }} join {{ nodes if relation is none else relation ~ ' as ' ~ nodes }}
        on {{ nodes }}.node_key = {{ node_key('crm_lead', lead_id) }}
{%- endmacro %}

{#- The mailbox an address delivers to. The extract already lower-cases and trims; here the
    provider rules: Gmail ignores dots in the local part, and Gmail, Outlook/Hotmail/Live, iCloud,
    Proton and Fastmail ignore a `+tag`. Other providers (QQ, 163, company domains) may treat dots
    and plus signs as part of the name, so their addresses are left as typed. -#}
{% macro canonical_email(value) -%}
    case
        when {{ dbt.split_part(value, "'@'", 2) }} in ('gmail.com', 'googlemail.com')
            then replace({{ dbt.split_part(dbt.split_part(value, "'@'", 1), "'+'", 1) }}, '.', '') || '@gmail.com'
        when {{ dbt.split_part(value, "'@'", 2) }} in (
            'outlook.com', 'hotmail.com', 'live.com', 'icloud.com', 'me.com', 'proton.me',
            'protonmail.com', 'fastmail.com'
        )
            then {{ dbt.split_part(dbt.split_part(value, "'@'", 1), "'+'", 1) }} || '@' || {{ dbt.split_part(value, "'@'", 2) }}
        else {{ value }}
    end
{%- endmacro %}

{#- True when `value` matches the regular expression `pattern` (searched, not anchored). -#}
{% macro regex_search(value, pattern) -%}
    {{ return(adapter.dispatch('regex_search')(value, pattern)) }}
{%- endmacro %}

{% macro default__regex_search(value, pattern) -%}
    ({{ value }} ~ {{ pattern }})
{%- endmacro %}

{% macro duckdb__regex_search(value, pattern) -%}
    regexp_matches({{ value }}, {{ pattern }})
{%- endmacro %}

{#- Spark: RLIKE searches (Java regex), the pattern written as for DuckDB and Postgres
    (spark.sql.parser.escapedStringLiterals keeps its backslashes, profiles.yml). -#}
{% macro spark__regex_search(value, pattern) -%}
    ({{ value }} rlike {{ pattern }})
{%- endmacro %}

{#- `value` with every match of `pattern` replaced by `replacement` (both SQL expressions; no back
    references, whose syntax differs). -#}
{% macro regex_replace_all(value, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all')(value, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{#- Spark's regexp_replace replaces every match; its fourth argument is a position, not flags. -#}
{% macro spark__regex_replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- The seed identity_blocklist's rule that `value` (an identifier of `identifier_type`, the type
    a literal, the value an expression) matches, as a correlated subquery: its reason, or null. -#}
{% macro blocklist_reason(identifier_type, value) -%}
    (
        select min(blocklist.reason)
        from {{ ref('identity_blocklist') }} as blocklist
        where blocklist.identifier_type in ('{{ identifier_type }}', '*')
            and {{ blocklist_pattern_matches(value) }}
    )
{%- endmacro %}

{#- True when `value` matches the pattern of the seed identity_blocklist's row `blocklist`. -#}
{% macro blocklist_pattern_matches(value) -%}
    case
        when blocklist.match = 'regex' then {{ regex_search(value, 'blocklist.pattern') }}
        else {{ value }} like blocklist.pattern
    end
{%- endmacro %}

{#- The rule of the seed identity_blocklist that each distinct (identifier_type, identifier_value)
    of `relation` matches, as a select of those with one (blocked_reason: the first reason, as
    blocklist_reason gives it). For many rows: each value is matched once, against its type's rows
    and the rows for every type (`*`) only, where a correlated subquery on a type column matched
    every row of the seed. -#}
{% macro blocklist_reasons(relation) -%}
    select identifier_type, identifier_value, min(reason) as blocked_reason
    from (
        {%- for rule_type in ['identifier_values.identifier_type', "'*'"] %}
        select identifier_values.identifier_type, identifier_values.identifier_value, blocklist.reason
        from (select distinct identifier_type, identifier_value from {{ relation }}) as identifier_values
        inner join {{ ref('identity_blocklist') }} as blocklist
            on blocklist.identifier_type = {{ rule_type }}
        where {{ blocklist_pattern_matches('identifier_values.identifier_value') }}
        {{ 'union all' if not loop.last }}
        {%- endfor %}
    ) as hits
    group by identifier_type, identifier_value
{%- endmacro %}

{#- True when an identifier is a placeholder or a shared value listed in the seed identity_blocklist. -#}
{% macro is_blocked_identifier(identifier_type, value) -%}
    ({{ blocklist_reason(identifier_type, value) }} is not null)
{%- endmacro %}

{#- A person's name reduced for comparison: lower-case, words sorted and joined without spaces, so
    "Li Na", "na li" and "李 娜" compare equal to "Li Na", "Na Li" and "李娜". -#}
{% macro name_key(value) -%}
    {{ return(adapter.dispatch('name_key')(value)) }}
{%- endmacro %}

{% macro default__name_key(value) -%}
    array_to_string(array(
        select word from unnest(regexp_split_to_array(lower(trim({{ value }})), '\s+')) as word order by word
    ), '')
{%- endmacro %}

{% macro duckdb__name_key(value) -%}
    array_to_string(list_sort(string_split_regex(lower(trim({{ value }})), '\s+')), '')
{%- endmacro %}

{% macro spark__name_key(value) -%}
    array_join(array_sort(split(lower(trim({{ value }})), '\s+')), '')
{%- endmacro %}

{#- True when a name is written in Chinese characters (compared only with names in the same script). -#}
{% macro is_cjk_name(value) -%}
    {{ regex_search(value, "'[一-龥]'") }}
{%- endmacro %}

{#- True when two names in letters are two people's: after dropping the words both share (a
    family's surname; "Wang Wei" and "Wei Wang" share all), each has a word left and the first left
    words start with different letters (David Brown / Rachel Brown). Same initial is no conflict: a
    nickname (Mike / Michael) or a typo (Jonh / John). Case and spacing ignored. -#}
{% macro latin_names_conflict(a, b) -%}
    {{ return(adapter.dispatch('latin_names_conflict')(a, b)) }}
{%- endmacro %}

{% macro default__latin_names_conflict(a, b) -%}
    coalesce(
        left((
            select min(word) from unnest(regexp_split_to_array(lower(trim({{ a }})), '\s+')) as word
            where word <> all(regexp_split_to_array(lower(trim({{ b }})), '\s+'))
        ), 1)
        <> left((
            select min(word) from unnest(regexp_split_to_array(lower(trim({{ b }})), '\s+')) as word
            where word <> all(regexp_split_to_array(lower(trim({{ a }})), '\s+'))
        ), 1),
        false
    )
{%- endmacro %}

{# the rule is written once per engine as dispatch wants: this engine's list functions; the two halves are a-then-b and b-then-a #}
{% macro duckdb__latin_names_conflict(a, b) -%}
    coalesce(
        left(list_min(list_filter(
            string_split_regex(lower(trim({{ a }})), '\s+'),
            lambda word: not list_contains(string_split_regex(lower(trim({{ b }})), '\s+'), word)
        )), 1)
        <> left(list_min(list_filter(
            string_split_regex(lower(trim({{ b }})), '\s+'),
            lambda word: not list_contains(string_split_regex(lower(trim({{ a }})), '\s+'), word)
        )), 1),
        false
    )
{%- endmacro %}

{# the rule is written once per engine as dispatch wants: this engine's list functions; the two halves are a-then-b and b-then-a #}
{% macro spark__latin_names_conflict(a, b) -%}
    coalesce(
        left(array_min(filter(
            split(lower(trim({{ a }})), '\s+'),
            word -> not array_contains(split(lower(trim({{ b }})), '\s+'), word)
        )), 1)
        <> left(array_min(filter(
            split(lower(trim({{ b }})), '\s+'),
            word -> not array_contains(split(lower(trim({{ a }})), '\s+'), word)
        )), 1),
        false
    )
{%- endmacro %}
