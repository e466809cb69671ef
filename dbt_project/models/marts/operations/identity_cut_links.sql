{#- The links the identity guards cut, counted by kind, per day: how many (record, identifier)
    links int_identity_links_cut holds at the run of that day (the run's interval day, as
    identity_health_daily), by cut rule, reason kind and identifier type. The reasons of
    int_identity_links_cut name people (a hub's conflicting names, the steward who detached an
    identifier and why): only their kind is published, from a fixed list (accepted_values test), so
    this mart carries no personal data.
      reason_kind  blocklist          the identifier matches the seed identity_blocklist
                   hub_shared         seen with more distinct identifiers of counted_type than the seed identity_limits allows
                   hub_name_conflict  its records carry more conflicting names than identity_limits allows
                   steward_detach     a data steward detached it (seed identity_decisions)
    Incremental, delete+insert on day (a re-run replaces the day's rows), full_refresh off. -#}
{{ kept_history_config(unique_key='day') }}

{%- set run_day = interval_day() %}

with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

links_cut as (
    select * from {{ ref('int_identity_links_cut') }}
),

hubs as (
    select * from {{ ref('int_identity_hubs') }}
),

-- one kind per hub, even when it breaks more than one limit (the one int_identity_links_cut's
-- reason comes from: min(reason), and 'conflict: …' sorts before 'hub: …')
hub_kinds as (
    select
        node_key,
        min(
            case when counted_type = 'name' then 'a_conflict' else 'b_shared:' || counted_type end
        ) as kind
    from hubs
    group by node_key
),

classified as (
    select
        links_cut.cut_rule,
        case
            when links_cut.cut_rule = 'blocklist' then 'blocklist'
            when links_cut.cut_rule = 'hub_limit' and hub_kinds.kind = 'a_conflict' then 'hub_name_conflict'
            when links_cut.cut_rule = 'hub_limit' then 'hub_shared'
            else 'steward_detach'
        end as reason_kind,
        case
            when links_cut.cut_rule = 'hub_limit' and hub_kinds.kind like 'b_shared:%'
                then substr(hub_kinds.kind, length('b_shared:') + 1)
        end as counted_type,
        links_cut.identifier_type
    from links_cut
    left join hub_kinds
        on hub_kinds.node_key = links_cut.node_key
),

final as (
    select
        {{ run_day }} as day,
        cast(cut_rule as {{ sql_type('varchar') }}) as cut_rule,
        cast(reason_kind as {{ sql_type('varchar') }}) as reason_kind,
        cast(counted_type as {{ sql_type('varchar') }}) as counted_type,
        cast(identifier_type as {{ sql_type('varchar') }}) as identifier_type,
        cast(count(*) as bigint) as links
    from classified
    group by cut_rule, reason_kind, counted_type, identifier_type
)

select * from final
