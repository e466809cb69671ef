{#- Connected components of the identity graph (macro connected_components: hooking with pointer
    jumping, about log(diameter) rounds, with a guard) over int_identity_links_decided: the graph
    with the stewards' decisions applied (cannot_link cuts removed). component_key is the smallest node of the
    component. Person ids are assigned from these in int_identity_person_ids, which keeps them
    stable from run to run.
    Incremental (docs/incremental.md, "Identity"): the run compares the graph's edges with those of
    the run before (kept in `<this>__edges`, node pairs only), and clusters again only the nodes of
    the components an added or removed edge touches: the endpoints of every changed edge and every
    node of their components before the run. An edge of the graph now with one end in that set has
    the other there too (an unchanged edge lay inside one old component, a changed one has both ends
    touched), so that subgraph's components are the full graph's components on those nodes, and
    every other component is what it was: the same rows a full build gives. Why an edge changed does
    not matter: a new record, an erasure, a guard that tripped (a hub cuts links of any age), a
    decision of the seed identity_decisions, a probabilistic match gained or lost. Without the kept
    edges (the first build, --full-refresh, a table built before this) every node is clustered. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='node_key',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    post_hook="{{ identity_components_kept_edges(ref('int_identity_links_decided')) }}",
) }}

{%- set result = none -%}
{%- if execute -%}
    {%- set incremental_run = is_incremental() and identity_components_have_kept_edges() -%}
    {%- if incremental_run -%}
        {%- set affected_edges = identity_components_affected_edges(ref('int_identity_links_decided')) -%}
        {%- set result = connected_components(affected_edges, this) -%}
    {%- else -%}
        {%- set result = connected_components(ref('int_identity_links_decided'), this) -%}
    {%- endif -%}
{%- endif %}

select
    node_key,
    component_key
from {{ result if execute else ref('int_identity_links_decided') }}
