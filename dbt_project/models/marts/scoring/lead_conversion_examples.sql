{#- One row per CRM lead: its person's rule score and grade var lead_observation_days (default 0)
    after the lead was created (scored_at), and whether it converted within var
    conversion_window_days after scored_at. What converts is var conversion_event (an opportunity
    created, a named stage reached, a deal won, an order placed: int_lead_conversion_events), named
    in conversion_definition. A lead that converted before
    scored_at is no example (converted_before_scoring, left out of the report and training). The
    closed-loop report and the conversion model's training read it; label_complete is false while
    the window is still open at interval_end, converted or not (those leads are left out of both). -#}
with

score_points as (
    select * from {{ ref('int_score_points') }}
    where score_point like 'lead:%'
),

scores as (
    select * from {{ ref('int_lead_scores_computed') }}
    where score_point like 'lead:%'
),

conversion_events as (
    select * from {{ ref('int_lead_conversion_events') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

{{ conversion_labels('score_points', "'lead:' || conversion_events.lead_id = score_points.score_point") }},

final as (
    select
        cast(score_points.score_point as {{ sql_type('varchar') }}) as example_id,
        cast(substring(score_points.score_point, 6) as {{ sql_type('varchar') }}) as lead_id,
        cast(score_points.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(
            {{ dbt.dateadd('day', -var('lead_observation_days'), 'score_points.as_of_at') }} as timestamp
        ) as lead_created_at,
        cast(score_points.as_of_at as timestamp) as scored_at,
        cast({{ dbt.date_trunc('month', 'score_points.as_of_at') }} as date) as lead_month,
        cast(scores.lead_score as integer) as lead_score_at_creation,
        cast({{ grade_of('scores.lead_score') }} as {{ sql_type('varchar') }}) as grade_at_creation,
        cast(least(greatest(floor(scores.lead_score / 10.0) * 10, -20), 100) as integer) as score_band,
        conversions.converted_at is not null as converted,
        cast(conversions.converted_at as timestamp) as converted_at,
        -- only a closed window is a label
        {{ conversion_label_complete('score_points') }} as label_complete,
        earlier_conversions.score_point is not null as converted_before_scoring,
        cast('{{ conversion_definition() }}' as {{ sql_type('varchar') }}) as conversion_definition
    -- this model's own joins (on person_id, score_point): a join chain alike in shape only to other models', other relations
    from score_points
    inner join scores
        on scores.person_id = score_points.person_id
        and scores.score_point = score_points.score_point
    left join conversions
        on conversions.score_point = score_points.score_point
    left join earlier_conversions
        on earlier_conversions.score_point = score_points.score_point
)

select * from final
