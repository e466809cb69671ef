{#- Every change of person id, as it happened (incremental, never rebuilt): on changed_on the nodes
    of from_person_id moved to to_person_id. reason merged: from_person_id is retired, its person
    now lives on as to_person_id (the oldest id of the merged people); split: a guard or new data
    cut the person in two, from_person_id stayed with the larger part and the smaller part became
    to_person_id. CRM pushes key on person ids: this table is how they follow a merge. -#}
{{ config(
    materialized='incremental',
    unique_key=['changed_on', 'from_person_id', 'to_person_id'],
    incremental_strategy='delete+insert',
    full_refresh=false,
) }}

with

person_ids as (
    select * from {{ ref('int_identity_person_ids') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

current_ids as (
    select distinct person_ids.person_id
    from person_ids
    inner join components
        on components.node_key = person_ids.node_key
),

moves as (
    select
        changed_on,
        previous_person_id as from_person_id,
        person_id as to_person_id,
        count(*) as node_count
    from person_ids
    where previous_person_id is not null
        and previous_person_id <> person_id
        {% if is_incremental() -%}
        -- earlier changes are history: their rows stay as they were written
        and changed_on = cast(cast('{{ interval_bound('interval_start') or '1970-01-01' }}' as timestamp) as date)
        {%- endif %}
    group by changed_on, previous_person_id, person_id
),

final as (
    select
        moves.changed_on,
        moves.from_person_id,
        moves.to_person_id,
        case when current_ids.person_id is null then 'merged' else 'split' end as reason,
        cast(moves.node_count as integer) as node_count
    from moves
    left join current_ids
        on current_ids.person_id = moves.from_person_id
)

select * from final
