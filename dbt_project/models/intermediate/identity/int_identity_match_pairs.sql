{#- Pairs of records that share no exact key but are, by Fellegi-Sunter evidence, the same person
    (a form typed with a misspelt email from a new device, by someone whose name and company the
    CRM already knows). Every record of int_identity_records is compared with the records that share
    a blocking key by the matcher (macro configured_match_pairs) under the pipeline's configuration
    (macro identity_match_config); pairs at or above var identity_match_threshold are kept, with
    their weight, the rule that found them and each comparison's level. The default 0.95 was chosen
    on bench/identity_matching.py's measurements (see its docstring). -#}
with

records as (
    select * from {{ ref('int_identity_records') }}
),

scored_pairs as (
    {{ configured_match_pairs('records', identity_match_config()) }}
),

final as (
    select * from scored_pairs
    where match_probability >= {{ var('identity_match_threshold', 0.95) }}
)

select * from final
