{#- People per funnel stage and conversion rates. A person counts in a stage when they reached it
    or any later stage (a won customer whose score has since cooled still passed mql), so the
    counts never grow down the funnel and the rates stay between 0 and 1. -#}
with

funnel_stages as (
    select * from {{ ref('funnel_stages') }}
),

furthest as (
    select
        person_id,
        case
            when won_at is not null then 5
            when sql_at is not null then 4
            when mql_at is not null then 3
            when engaged_at is not null then 2
            when awareness_at is not null then 1
            else 0
        end as furthest_stage
    from funnel_stages
),

stages as (
    select 'awareness' as stage, 1 as stage_order
    union all
    select 'engaged', 2
    union all
    select 'mql', 3
    union all
    select 'sql', 4
    union all
    select 'won', 5
),

stage_counts as (
    select
        stages.stage,
        stages.stage_order,
        count(furthest.person_id) as people
    from stages
    left join furthest
        on furthest.furthest_stage >= stages.stage_order
    group by stages.stage, stages.stage_order
),

with_previous as (
    select
        stage_counts.*,
        lag(people) over (order by stage_order) as previous_people,
        first_value(people) over (order by stage_order) as first_people
    from stage_counts
),

final as (
    select
        cast(stage as varchar) as stage,
        cast(stage_order as integer) as stage_order,
        cast(people as integer) as people,
        cast(
            case
                when stage_order = 1 then case when people > 0 then 1.0 end
                else people * 1.0 / nullif(previous_people, 0)
            end as double precision
        ) as conversion_from_previous,
        cast(people * 1.0 / nullif(first_people, 0) as double precision) as conversion_from_first
    from with_previous
)

select * from final
