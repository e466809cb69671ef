{#- One row per identifier node with the person it belongs to: the node's connected component
    (int_identity_components) under its stable person id (int_identity_person_ids). -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

components as (
    select * from {{ ref('int_identity_components') }}
),

person_ids as (
    select * from {{ ref('int_identity_person_ids') }}
),

links as (
    select * from {{ ref('int_identifiers_linked') }}
),

sightings as (
    select
        node_key,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from (
        select node_a as node_key, first_seen_at, last_seen_at from links
        union all
        select node_b as node_key, first_seen_at, last_seen_at from links
    ) as node_sightings
    group by node_key
),

final as (
    select
        components.node_key,
        person_ids.person_id,
        components.component_key,
        {{ dbt.split_part('components.node_key', "':'", 1) }} as identifier_type,
        substring(components.node_key from position(':' in components.node_key) + 1) as identifier_value,
        sightings.first_seen_at,
        sightings.last_seen_at
    -- this model's own joins (on node_key): a join chain alike in shape only to other models', other relations
    from components
    inner join person_ids
        on person_ids.node_key = components.node_key
    inner join sightings
        on sightings.node_key = components.node_key
)

select * from final
