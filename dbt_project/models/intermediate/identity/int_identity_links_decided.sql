{#- The identity graph that is clustered into people (int_identity_components): the edges of
    int_identifiers_linked (decided must_link and detached edges included) without the links that
    cannot_link decisions cut (int_identity_decision_cuts). A view: no copy of the graph. -#}
{{ config(materialized='view') }}

with

links as (
    select * from {{ ref('int_identifiers_linked') }}
),

decision_cuts as (
    select * from {{ ref('int_identity_decision_cuts') }}
),

final as (
    select links.*
    from links
    where not exists (
        select 1
        from decision_cuts
        where decision_cuts.node_a = links.node_a
            and decision_cuts.node_b = links.node_b
            and decision_cuts.link_rule = links.link_rule
    )
)

select * from final
