{#- Pairs of records that share no exact key but are, by Fellegi-Sunter evidence, the same person
    (a form typed with a misspelt email from a new device, by someone whose name and company the
    CRM already knows). Every record of int_identity_records is compared with the records that share
    a blocking key by the matcher (macro configured_match_pairs) under the pipeline's configuration
    (macro identity_match_config), in int_identity_match_evidence (incremental); here the prior is
    added to each pair's evidence (it depends on how many records there are, so it changes with
    every record) and pairs at or above var identity_match_threshold are kept, with their weight,
    the rule that found them and each comparison's level. The default 0.95 was chosen on
    bench/identity_matching.py's measurements (see its docstring). -#}
{%- set match_config = identity_match_config() %}

with

evidence as (
    {%- if model.resource_type == 'unit_test' %}
    -- the unit tests give the records: the evidence of their pairs as int_identity_match_evidence
    -- computes it on a full build (the same macro; its incremental scope reads tables, which a unit
    -- test has not)
    {{ configured_match_pairs(ref('int_identity_records'), match_config, evidence_only=true) }}
    {%- else %}
    select * from {{ ref('int_identity_match_evidence') }}
    {%- endif %}
),

records as (
    select cast(null as {{ sql_type('varchar') }}) as cm_source
    from {{ ref('int_identity_records') }}
),

prior as (
    {{ cm_prior_weight(match_config, 'records') }}
),

weighed as (
    select
        evidence.*,
        prior.prior_weight + evidence.level_weight as weight
    from evidence
    cross join prior
),

scored_pairs as (
    select
        record_id_l,
        record_id_r,
        -- the matcher's rule (configured_match_pairs uses it too): contradicted or uncorroborated -> -30
        {{ cm_match_weight_and_probability('weight') }},
        is_contradicted,
        is_uncorroborated,
        matched_by
        {%- for comparison in match_config['comparisons'] %},
        gamma_{{ comparison['name'] }}
        {%- endfor %}
    from weighed
),

final as (
    select * from scored_pairs
    where match_probability >= {{ var('identity_match_threshold', 0.95) }}
)

select * from final
