{#- The links of the identity graph that cannot_link decisions cut (macro identity_cannot_link_cuts):
    while a decision's two identifiers are in one component, the component is split between the two
    sides and every link between them is cut, so no path joins them however many there were. One
    row per cut link with the decision and the round that cut it; int_identity_links_decided is the
    graph without them. Without cannot_link decisions nothing runs and the table is empty. -#}
{{ config(
    materialized='table',
    post_hook="drop table if exists {{ this.incorporate(path={'identifier': this.identifier ~ '__dc_cuts'}) }}",
) }}

{#- a cut's columns: the one list of the empty relation and of the final casts -#}
{%- set cut_columns = [
    ('node_a', 'varchar'), ('node_b', 'varchar'), ('link_rule', 'varchar'),
    ('confidence', 'double precision'), ('decision_id', 'varchar'), ('split_round', 'integer'),
] -%}
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
        {{- typed_columns(cut_columns, null_values=true) }}
    from {{ ref('int_identifiers_linked') }}
    where false
),
{%- endif %}

final as (
    select
        {{- typed_columns(cut_columns, relation='cuts') }},
        decisions.decided_by,
        decisions.decision_reason
    from cuts
    inner join decisions
        on decisions.decision_id = cuts.decision_id
)

select * from final
