{#- The audit of every link the guards cut: each (record, identifier) that did not become part of
    the identity graph, with the rule and its reason. Nothing is dropped silently: a salesperson
    asking "why are these two not one person?" finds the answer here. A data steward's detach
    (seed identity_decisions) cuts the identifier from every record too, cut_rule decision. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

record_identifiers as (
    select * from {{ ref('int_identity_record_identifiers') }}
),

hubs as (
    select * from {{ ref('int_identity_hubs') }}
),

decisions as (
    select * from {{ ref('int_identity_decisions') }}
),

-- decisions: a detached identifier is cut from every record (int_identity_decision_links keeps it
-- in the graph as a person of its own)
detached as (
    select
        node_a as node_key,
        min('detached by ' || decided_by || ' on ' || cast(decided_on as {{ sql_type('varchar') }}) || ' (' || decision_id || '): '
            || decision_reason) as reason
    from decisions
    where decision_kind = 'detach'
    group by node_a
),

hub_reasons as (
    -- one reason per hub, even when it breaks more than one limit
    select
        node_key,
        min(reason) as reason
    from hubs
    group by node_key
),

final as (
    select
        record_identifiers.record_source,
        record_identifiers.record_key,
        record_identifiers.identifier_type,
        record_identifiers.node_key,
        case
            when record_identifiers.blocked_reason is not null then 'blocklist'
            when hub_reasons.node_key is not null then 'hub_limit'
            else 'decision'
        end as cut_rule,
        coalesce(record_identifiers.blocked_reason, hub_reasons.reason, detached.reason) as reason,
        record_identifiers.first_seen_at,
        record_identifiers.last_seen_at
    -- this model's own joins (on node_key): a join chain alike in shape only to other models', other relations
    from record_identifiers
    left join hub_reasons
        on hub_reasons.node_key = record_identifiers.node_key
    left join detached
        on detached.node_key = record_identifiers.node_key
    where record_identifiers.blocked_reason is not null
        or hub_reasons.node_key is not null
        or detached.node_key is not null
)

select * from final
