{#- The edges the stewards' decisions add to the identity graph (int_identifiers_linked takes them):
    must_link: the two identifiers are joined (confidence 1), when both are in the graph (an
    identifier not seen yet, or cut by the blocklist, a hub limit or a detach, joins nothing; the
    decision waits for it); detached: a self edge keeps an identifier that a detach decision cut
    from all its records in the graph as a person of its own. Same columns as int_identifiers_linked;
    sources is 'decision' and record_count 0, first/last seen are the identifiers' own. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

decisions as (
    select * from {{ ref('int_identity_decisions') }}
),

record_nodes as (
    select * from {{ ref('int_identity_record_nodes') }}
),

cut as (
    select * from {{ ref('int_identity_links_cut') }}
),

sightings as (
    select
        node_key,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from record_nodes
    group by node_key
),

must_links as (
    select
        least(decisions.node_a, decisions.node_b) as node_a,
        greatest(decisions.node_a, decisions.node_b) as node_b,
        'must_link' as link_rule,
        cast(1.0 as {{ sql_type('double precision') }}) as confidence,
        min(least(sighting_a.first_seen_at, sighting_b.first_seen_at)) as first_seen_at,
        max(greatest(sighting_a.last_seen_at, sighting_b.last_seen_at)) as last_seen_at,
        cast(0 as bigint) as record_count,
        'decision' as sources
    from decisions
    inner join sightings as sighting_a
        on sighting_a.node_key = decisions.node_a
    inner join sightings as sighting_b
        on sighting_b.node_key = decisions.node_b
    where decisions.decision_kind = 'must_link'
    group by 1, 2
),

detached as (
    select
        node_key as node_a,
        node_key as node_b,
        'detached' as link_rule,
        cast(1.0 as {{ sql_type('double precision') }}) as confidence,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(0 as bigint) as record_count,
        'decision' as sources
    from cut
    where cut_rule = 'decision'
    group by node_key
),

final as (
    select * from must_links
    union all
    select * from detached
)

select * from final
