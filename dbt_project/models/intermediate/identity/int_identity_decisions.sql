{#- The data stewards' decisions (seed identity_decisions), validated (test valid_identity_decisions
    stops the build on a bad row before this model runs) and normalised: kind must_link, cannot_link
    or detach; node_a and node_b the graph nodes the identifiers stand for, keyed the way the
    warehouse keys them. decision_id is the seed's id, or "line N" when the steward gave none. -#}
with

decisions as (
    {{ identity_decisions_normalised(ref('identity_decisions')) }}
),

final as (
    select
        cast(decision_id as {{ sql_type('varchar') }}) as decision_id,
        cast(decision_kind as {{ sql_type('varchar') }}) as decision_kind,
        cast(node_a as {{ sql_type('varchar') }}) as node_a,
        cast(case when decision_kind = 'detach' then null else node_b end as {{ sql_type('varchar') }}) as node_b,
        cast(decided_by as {{ sql_type('varchar') }}) as decided_by,
        cast(decision_reason as {{ sql_type('varchar') }}) as decision_reason,
        cast(given_date as date) as decided_on,
        cast(line_number as integer) as seed_line
    from decisions
)

select * from final
