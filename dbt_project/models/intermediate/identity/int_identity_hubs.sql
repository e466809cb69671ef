{#- Hub identifiers: values that would glue strangers together because many people share them (a
    kiosk browser at a trade show, a team mailbox, a switchboard phone). An identifier of type T is
    a hub when the records holding it hold more than max_distinct distinct identifiers of the
    counted type (seed identity_limits). Co-occurrence is counted per record, so it does not depend
    on how the graph happens to be connected, and a hub is always the less trusted side of the
    links it would make: a device shared by 12 emails is cut, the 12 emails stay. -#}
with

record_identifiers as (
    select * from {{ ref('int_identity_record_identifiers') }}
    where blocked_reason is null
),

limits as (
    select * from {{ ref('identity_limits') }}
    where counted_type is not null
),

cooccurrence as (
    select
        held.node_key,
        held.identifier_type,
        other.identifier_type as counted_type,
        count(distinct other.node_key) as distinct_count
    from record_identifiers as held
    inner join limits
        on limits.identifier_type = held.identifier_type
    inner join record_identifiers as other
        on other.record_source = held.record_source
        and other.record_key = held.record_key
        and other.identifier_type = limits.counted_type
        and other.node_key <> held.node_key
    group by held.node_key, held.identifier_type, other.identifier_type
),

final as (
    select
        cooccurrence.node_key,
        cooccurrence.identifier_type,
        cooccurrence.counted_type,
        cast(cooccurrence.distinct_count as integer) as distinct_count,
        limits.max_distinct,
        'hub: seen with ' || cast(cooccurrence.distinct_count as varchar) || ' distinct '
        || cooccurrence.counted_type || ' identifiers (limit ' || cast(limits.max_distinct as varchar) || ')' as reason
    from cooccurrence
    inner join limits
        on limits.identifier_type = cooccurrence.identifier_type
        and limits.counted_type = cooccurrence.counted_type
    where cooccurrence.distinct_count > limits.max_distinct
)

select * from final
