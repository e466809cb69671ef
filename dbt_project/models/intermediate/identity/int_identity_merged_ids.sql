{#- Every person id merged into a current person, directly or through a chain of merges (a into b,
    later b into c: c has a and b), one row per pair. Activation reads them so that an alert that
    failed for an id merged away is retried under the person it became, and a person already
    announced under a merged-away id is not announced again.
    On an engine without recursive CTEs (Spark 3.5) the same closure is computed by rounds
    (macro merge_closure), to the same fixed point. -#}
{{ config(post_hook="{{ merge_closure_cleanup(this) }}") }}

{%- set merges_sql -%}
    select from_person_id, to_person_id
    from {{ ref('int_identity_id_changes') }}
    where reason = 'merged'
        and from_person_id <> to_person_id
{%- endset -%}
{%- set closure = none -%}
{%- if execute and not recursive_ctes() -%}
    {%- set closure = merge_closure(merges_sql, this) -%}
{%- endif %}
with{{ ' recursive' if closure is none }}

merges as (
    {{ merges_sql }}
),

{% if closure is none -%}
merged_into (person_id, merged_person_id) as (
    select to_person_id, from_person_id
    from merges
    union
    select merged_into.person_id, merges.from_person_id
    from merged_into
    inner join merges
        on merges.to_person_id = merged_into.merged_person_id
),
{%- else -%}
merged_into as (
    select person_id, merged_person_id from {{ closure }}
),
{%- endif %}

final as (
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(merged_person_id as {{ sql_type('varchar') }}) as merged_person_id
    from merged_into
    where person_id <> merged_person_id
)

select * from final
