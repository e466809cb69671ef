{#- What became of each decision on this build, for the steward who wrote it: status applied (the
    graph does what the decision says), waiting (an identifier it names is not in the graph: not
    seen yet, or cut by a guard; it acts as soon as it is) or overridden (a must_link whose two
    identifiers a cannot_link keeps apart); status_detail says which identifier or decision, and
    person_id_a / person_id_b are the people the identifiers belong to now. -#}
with

decisions as (
    select * from {{ ref('int_identity_decisions') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

person_ids as (
    select * from {{ ref('int_identity_person_ids') }}
),

decision_cuts as (
    select * from {{ ref('int_identity_decision_cuts') }}
),

component_sizes as (
    select component_key, count(*) as node_count
    from components
    group by component_key
),

placed as (
    select
        decisions.*,
        component_a.component_key as component_a,
        component_b.component_key as component_b,
        size_a.node_count as node_count_a,
        person_a.person_id as person_id_a,
        person_b.person_id as person_id_b,
        (
            select min(decision_cuts.decision_id)
            from decision_cuts
            where decision_cuts.link_rule = 'must_link'
                and decision_cuts.node_a = least(decisions.node_a, decisions.node_b)
                and decision_cuts.node_b = greatest(decisions.node_a, decisions.node_b)
        ) as cut_by
    from decisions
    left join components as component_a
        on component_a.node_key = decisions.node_a
    left join components as component_b
        on component_b.node_key = decisions.node_b
    left join component_sizes as size_a
        on size_a.component_key = component_a.component_key
    left join person_ids as person_a
        on person_a.node_key = component_a.node_key
    left join person_ids as person_b
        on person_b.node_key = component_b.node_key
),

final as (
    select
        decision_id,
        decision_kind,
        node_a,
        node_b,
        decided_by,
        decision_reason,
        decided_on,
        case
            when component_a is null or (decision_kind <> 'detach' and component_b is null) then 'waiting'
            when decision_kind = 'must_link' and component_a <> component_b then 'overridden'
            else 'applied'
        end as status,
        case
            when component_a is null then node_a || ' is not in the identity graph (not seen yet, or cut by a guard)'
            when decision_kind <> 'detach' and component_b is null
                then node_b || ' is not in the identity graph (not seen yet, or cut by a guard)'
            when decision_kind = 'must_link' and component_a <> component_b
                then 'cannot_link ' || coalesce(cut_by, '(another decision)') || ' keeps them apart'
            when decision_kind = 'detach' then node_a || ' is a person of its own'
            when decision_kind = 'must_link' then 'one person'
            else 'two people'
        end as status_detail,
        cast(person_id_a as {{ sql_type('varchar') }}) as person_id_a,
        cast(person_id_b as {{ sql_type('varchar') }}) as person_id_b
    from placed
)

select * from final
