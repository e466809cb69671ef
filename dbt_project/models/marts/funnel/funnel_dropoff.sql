{#- Where people leave the funnel: per step and the breakdowns of funnel_conversion (overall, cohort
    week, channel, industry, grade, all four), the attempts that reached the previous (required)
    step, those that reached this one, and the ones that dropped in between (reached the previous
    step, not this one; null at the first step) with their share of the previous step. -#}
with

funnel_conversion as (
    select * from {{ ref('funnel_conversion') }}
),

with_previous as (
    select
        funnel_conversion.*,
        -- the previous required step (an optional step may be skipped: funnel_conversion.is_optional);
        -- its count is the smallest of the required steps before, so dropped is never negative
        min(case when not is_optional then people end) over (
            partition by breakdown, cohort_week, channel, industry, grade
            order by stage_order
            rows between unbounded preceding and 1 preceding
        ) as previous_people
    from funnel_conversion
),

final as (
    select
        breakdown,
        cohort_week,
        channel,
        industry,
        grade,
        stage,
        stage_order,
        entered,
        cast(previous_people as integer) as previous_reached,
        people as reached,
        cast(previous_people - people as integer) as dropped,
        cast((previous_people - people) * 1.0 / nullif(previous_people, 0) as {{ sql_type('double precision') }}) as dropoff_rate
    from with_previous
)

select * from final
