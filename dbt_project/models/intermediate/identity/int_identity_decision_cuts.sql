{#- The links of the identity graph that cannot_link decisions cut (macro identity_cannot_link_cuts):
    while a decision's two identifiers are in one component, the component is split between the two
    sides and every link between them is cut, so no path joins them however many there were. One
    row per cut link with the decision and the round that cut it; int_identity_links_decided is the
    graph without them. Without cannot_link decisions nothing runs and the table is empty. -#}
{{ config(
    materialized='table',
    post_hook="drop table if exists {{ this.incorporate(path={'identifier': this.identifier ~ '__dc_cuts'}) }}",
) }}

{%- set cuts = none -%}
{%- if execute -%}
    {%- set cannot_links = run_query(
        "select count(*) from " ~ ref('int_identity_decisions') ~ " where decision_kind = 'cannot_link'"
    ).columns[0].values()[0] | int -%}
    {%- if cannot_links > 0 -%}
        {%- set cuts = identity_cannot_link_cuts(ref('int_identifiers_linked'), ref('int_identity_decisions'), this) -%}
    {%- endif -%}
{%- endif %}

with

decisions as (
    select * from {{ ref('int_identity_decisions') }}
),

{% if cuts is not none -%}
cuts as (
    select * from {{ cuts }}
),
{%- else -%}
cuts as (
    select
        cast(null as {{ sql_type('varchar') }}) as node_a,
        cast(null as {{ sql_type('varchar') }}) as node_b,
        cast(null as {{ sql_type('varchar') }}) as link_rule,
        cast(null as {{ sql_type('double precision') }}) as confidence,
        cast(null as {{ sql_type('varchar') }}) as decision_id,
        cast(null as integer) as split_round
    from {{ ref('int_identifiers_linked') }}
    where false
),
{%- endif %}

final as (
    select
        cast(cuts.node_a as {{ sql_type('varchar') }}) as node_a,
        cast(cuts.node_b as {{ sql_type('varchar') }}) as node_b,
        cast(cuts.link_rule as {{ sql_type('varchar') }}) as link_rule,
        cast(cuts.confidence as {{ sql_type('double precision') }}) as confidence,
        cast(cuts.decision_id as {{ sql_type('varchar') }}) as decision_id,
        cast(cuts.split_round as integer) as split_round,
        decisions.decided_by,
        decisions.decision_reason
    from cuts
    inner join decisions
        on decisions.decision_id = cuts.decision_id
)

select * from final
