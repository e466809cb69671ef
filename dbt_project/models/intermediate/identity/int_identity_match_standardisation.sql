{#- What the matcher could not standardise, per comparison of its configuration (macro
    identity_match_config): present_values, failed_values (a phone with fewer digits than the
    comparison keeps, an address without @, a date of birth that is no date) and blocked_values (the
    blocklist's placeholders and role mailboxes). A failed value is no evidence for or against a
    match; it is counted here, never dropped silently, and the build warns when there are any. -#}
with

records as (
    select * from {{ ref('int_identity_records') }}
),

counted as (
    {{ configured_match_standardisation('records', identity_match_config()) }}
),

final as (
    select * from counted
)

select * from final
