{#- Connected components of the identity graph (macro connected_components: hooking with pointer
    jumping, about log(diameter) rounds, with a guard) over int_identity_links_decided: the graph
    with the stewards' decisions applied (cannot_link cuts removed). component_key is the smallest node of the
    component; cc_rounds how many rounds it took. Person ids are assigned from these in
    int_identity_person_ids, which keeps them stable from run to run. -#}
{{ config(
    materialized='table',
    post_hook="drop table if exists {{ this.incorporate(path={'identifier': this.identifier ~ '__cc_result'}) }}",
) }}

{%- if execute -%}
    {%- set components = connected_components(ref('int_identity_links_decided'), this) -%}
{%- endif %}

select
    node_key,
    component_key,
    cc_rounds
from {{ components if execute else ref('int_identity_links_decided') }}
