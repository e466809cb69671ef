{#- The leads a chat robot told, by the person id their first alert went out under (an id merged away
    since keeps its row: lead_assignments follows int_identity_merged_ids): told_at is the end of the
    interval whose activation told it first (the daily schedule: its start + 1 day), robots_told how
    many robots did. Read from the activation history (macro activation_history, table
    activation_told: a robot's first alert of the lead acknowledged; an outbox file, an alert held
    back, failed, dead-lettered or in doubt tells nobody), which the activations before this build
    wrote. A ledger row from before the ledger kept intervals has no told_at (told, when unknown). -#}
with

told as (
    select * from {{ activation_history('activation_told') }}
),

final as (
    select
        cast(record_key as {{ sql_type('varchar') }}) as person_id,
        min({{ dbt.dateadd('day', 1, 'cast(told_interval as timestamp)') }}) as told_at,
        count(distinct destination) as robots_told
    from told
    where record_key is not null
    group by record_key
)

select * from final
