{#- What the matcher could not standardise, per comparison of its configuration (macro
    identity_match_config): present_values, failed_values (a phone with fewer digits than the
    comparison keeps, an address without @, a date of birth that is no date) and blocked_values (the
    blocklist's placeholders and role mailboxes). A failed value is no evidence for or against a
    match; it is counted here, never dropped silently, and the build warns when there are any. The
    verdicts per record are int_identity_record_standardisation's (incremental). -#}
with

record_flags as (
    select * from {{ ref('int_identity_record_standardisation') }}
),

counted as (
    {{ configured_match_standardisation_counts('record_flags', identity_match_config()) }}
),

final as (
    select * from counted
)

select * from final
