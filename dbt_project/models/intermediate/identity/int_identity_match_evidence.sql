{#- Every pair of records the matcher (macro configured_match_pairs, configuration
    identity_match_config) compares, with its evidence before the prior: level_weight (the sum of
    its levels' log2(m/u)), is_contradicted, is_uncorroborated, matched_by and one gamma_<name> per
    comparison. int_identity_match_pairs adds the prior (which depends on how many records there
    are) and keeps the pairs at or above the threshold.
    Incremental (docs/incremental.md, "Identity"): a pair's evidence depends on its two records, the
    configuration and the seeds, and whether it is compared at all on the sizes of the blocks it
    shares. A daily run compares again only the pairs of records new or changed since the run
    before and of records in a block whose size crossed max_block_size, deletes the stored pairs of
    those records and of records gone, and keeps every other pair (macro identity_match_scope). A
    change of the configuration or of the matcher's seeds, or tf_adjust, compares every pair. -#}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook="{{ identity_match_kept_state() }}",
) }}

{%- set match_config = identity_match_config() -%}
{%- set scope = {'keys': none, 'compared': none, 'standardised': none} -%}
{%- if execute -%}
    {%- set scope = identity_match_scope(ref('int_identity_records'), match_config) -%}
{%- endif %}

with

scored_pairs as (
    {{ configured_match_pairs(ref('int_identity_records'), match_config, keys=scope['keys'],
                              compared_ids=scope['compared'], evidence_only=true, standardised=scope['standardised']) }}
),

final as (
    select * from scored_pairs
)

select * from final
