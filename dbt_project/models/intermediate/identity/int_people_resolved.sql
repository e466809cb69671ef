{#- People = connected components of the identity graph, one row per identifier node.
    Portable min-label propagation with a recursive CTE (DuckDB and Postgres): every node starts
    labelled with itself and passes its labels to its neighbours; a node only accepts labels
    smaller than its own key, which prunes everything but the way to the component's minimum.
    person_id = md5 of the component's smallest node key, so an unchanged component keeps its id
    from run to run. -#}
with recursive

links as (
    select * from {{ ref('int_identifiers_linked') }}
),

edges as (
    select node_a, node_b from links
    union
    select node_b, node_a from links
),

nodes as (
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

labels (node_key, label) as (
    select node_key, node_key from nodes

    union

    select
        edges.node_b,
        labels.label
    from labels
    inner join edges
        on edges.node_a = labels.node_key
    where labels.label < edges.node_b
),

components as (
    select
        node_key,
        min(label) as component_key
    from labels
    group by node_key
),

final as (
    select
        nodes.node_key,
        {{ dbt.hash('components.component_key') }} as person_id,
        components.component_key,
        {{ dbt.split_part('nodes.node_key', "':'", 1) }} as identifier_type,
        substring(nodes.node_key from position(':' in nodes.node_key) + 1) as identifier_value,
        nodes.first_seen_at,
        nodes.last_seen_at
    from nodes
    inner join components
        on nodes.node_key = components.node_key
)

select * from final
