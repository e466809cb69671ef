{#- The conversion model's extra training examples: each CRM lead again at the ages of var
    lead_snapshot_days (the snap<d>:<lead_id> points of int_score_points), labelled like
    lead_conversion_examples: converted when the conversion (int_lead_conversion_events) came within
    var conversion_window_days after the snapshot. A lead that converted before the snapshot is no
    example at that age (converted_before_snapshot), nor is one whose window is still open
    (label_complete false). Never in the closed-loop report: a lead counts there once, at its
    scored_at. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

score_points as (
    select * from {{ ref('int_score_points') }}
    where score_point like 'snap%'
),

conversion_events as (
    select * from {{ ref('int_lead_conversion_events') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

snapshots as (
    select
        person_id,
        score_point,
        as_of_at,
        {{ dbt.split_part('score_point', "':'", 2) }} as lead_id
    from score_points
),

{{ conversion_labels('snapshots', 'conversion_events.lead_id = snapshots.lead_id') }},

final as (
    select
        cast(snapshots.score_point as {{ sql_type('varchar') }}) as example_id,
        cast(snapshots.lead_id as {{ sql_type('varchar') }}) as lead_id,
        cast(snapshots.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(snapshots.as_of_at as timestamp) as scored_at,
        conversions.converted_at is not null as converted,
        {{ conversion_label_complete('snapshots') }} as label_complete,
        earlier_conversions.score_point is not null as converted_before_snapshot
    -- this model's own joins (on score_point): a join chain alike in shape only to other models', other relations
    from snapshots
    left join conversions
        on conversions.score_point = snapshots.score_point
    left join earlier_conversions
        on earlier_conversions.score_point = snapshots.score_point
)

select * from final
