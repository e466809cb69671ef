{#- The identifiers each record contributes to the graph after the guards (blocklist, hub limits),
    with the record's anchor: its smallest kept node, through which probabilistic matches attach.
    A form submission left with no identifier (all placeholders or hubs) gets a node of its own
    (`form:<submission key>`), so it is a person rather than lost. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

record_identifiers as (
    select * from {{ ref('int_identity_record_identifiers') }}
),

cut as (
    select * from {{ ref('int_identity_links_cut') }}
),

kept as (
    select
        record_identifiers.record_source,
        record_identifiers.record_key,
        record_identifiers.identifier_type,
        record_identifiers.node_key,
        record_identifiers.first_seen_at,
        record_identifiers.last_seen_at
    from record_identifiers
    -- kept: an identifier not cut from its record (by record and node), not a join chain of another model
    where not exists (
        select 1
        from cut
        where cut.record_source = record_identifiers.record_source
            and cut.record_key = record_identifiers.record_key
            and cut.node_key = record_identifiers.node_key
    )
),

fallbacks as (
    select
        cut.record_source,
        cut.record_key,
        'form' as identifier_type,
        {{ node_key('form', 'cut.record_key') }} as node_key,
        min(cut.first_seen_at) as first_seen_at,
        max(cut.last_seen_at) as last_seen_at
    from cut
    where cut.record_source = 'forms'
        and not exists (
            select 1
            from kept
            where kept.record_source = cut.record_source
                and kept.record_key = cut.record_key
        )
    group by cut.record_source, cut.record_key
),

record_nodes as (
    select * from kept
    union all
    select * from fallbacks
),

final as (
    select
        record_nodes.*,
        min(node_key) over (partition by record_source, record_key) as anchor_key
    from record_nodes
)

select * from final
