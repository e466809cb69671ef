{#- Where people leave the funnel: per step and the breakdowns of funnel_conversion (overall, cohort
    week, channel, industry, grade, all four), the attempts that reached the previous step, those
    that reached this one, and the ones that dropped in between (reached the previous step, not
    this one; null at the first step) with their share of the previous step. -#}
with

funnel_conversion as (
    select * from {{ ref('funnel_conversion') }}
),

with_previous as (
    select
        funnel_conversion.*,
        lag(people) over (
            partition by breakdown, cohort_week, channel, industry, grade
            order by stage_order
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
        cast((previous_people - people) * 1.0 / nullif(previous_people, 0) as double precision) as dropoff_rate
    from with_previous
)

select * from final
