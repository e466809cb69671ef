{#- Funnel conversion per step, overall and broken down by cohort week (the ISO week, Monday, of the
    attempt's entry, UTC), channel (of the person's first touch in int_touchpoints), industry and
    grade (the person's current ones), each alone and all four together (breakdown names which; the
    other dimension columns are null). people: attempts that reached the step (with var
    funnel_attempts = first, one per person); entered: attempts in the group; conversion from the
    previous step and from the entry; median hours from the previous step and from the entry over
    the attempts that reached the step. Excluded attempts are not counted. Steps, order mode, window
    and exclusions: int_funnel_steps_reached and docs/funnel.md. -#}
{%- set dimensions = {'cohort_week': 'date', 'channel': 'varchar', 'industry': 'varchar', 'grade': 'varchar'} -%}
{%- set breakdowns = [
    ('overall', []),
    ('cohort_week', ['cohort_week']),
    ('channel', ['channel']),
    ('industry', ['industry']),
    ('grade', ['grade']),
    ('cohort_week_channel_industry_grade', ['cohort_week', 'channel', 'industry', 'grade']),
] -%}
with

steps_reached as (
    select * from {{ ref('int_funnel_steps_reached') }}
),

funnel_steps as (
    select * from {{ ref('funnel_steps') }}
),

people as (
    select * from {{ ref('people') }}
),

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

touches as (
    select * from {{ ref('int_touchpoints') }}
),

steps as (
    select
        step,
        min(step_order) as step_order
    from funnel_steps
    where is_enabled
        and role = 'step'
    group by step
),

first_touches as (
    select
        person_id,
        channel,
        row_number() over (partition by person_id order by touched_at, channel) as touch_rank
    from touches
    where person_id is not null
        and touched_at is not null
),

attempts as (
    -- the attempts in the funnel (not excluded) with the dimensions they are broken down by
    select distinct
        steps_reached.person_id,
        steps_reached.attempt_number,
        cast({{ dbt.date_trunc('week', 'steps_reached.entered_at') }} as date) as cohort_week,
        coalesce(first_touches.channel, 'Unassigned') as channel,
        coalesce(people.industry, '(not set)') as industry,
        coalesce(lead_scores.grade, '(not set)') as grade
    from steps_reached
    left join first_touches
        on first_touches.person_id = steps_reached.person_id
        and first_touches.touch_rank = 1
    left join people
        on people.person_id = steps_reached.person_id
    left join lead_scores
        on lead_scores.person_id = steps_reached.person_id
    where not steps_reached.is_excluded
),

attempt_steps as (
    -- every attempt at every step, reached or not
    select
        attempts.*,
        steps.step,
        steps.step_order,
        steps_reached.reached_at,
        steps_reached.hours_from_previous,
        steps_reached.hours_from_entry
    from attempts
    cross join steps
    left join steps_reached
        on steps_reached.person_id = attempts.person_id
        and steps_reached.attempt_number = attempts.attempt_number
        and steps_reached.step = steps.step
),

counts as (
    {%- for breakdown, grouped in breakdowns %}
    select
        '{{ breakdown }}' as breakdown,
        {%- for dimension, data_type in dimensions.items() %}
        {{ 'attempt_steps.' ~ dimension if dimension in grouped else 'cast(null as ' ~ data_type ~ ')' }} as {{ dimension }},
        {%- endfor %}
        steps.step,
        steps.step_order,
        count(attempt_steps.reached_at) as people,
        count(attempt_steps.person_id) as entered,
        {{ median_of('attempt_steps.hours_from_previous') }} as median_hours_from_previous,
        {{ median_of('attempt_steps.hours_from_entry') }} as median_hours_from_first
    {%- if grouped %}
    from attempt_steps
    inner join steps
        on steps.step = attempt_steps.step
    group by {% for dimension in grouped %}attempt_steps.{{ dimension }}, {% endfor %}steps.step, steps.step_order
    {%- else %}
    -- overall: every step, also before anyone entered
    from steps
    left join attempt_steps
        on attempt_steps.step = steps.step
    group by steps.step, steps.step_order
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
),

with_previous as (
    select
        counts.*,
        lag(people) over (
            partition by breakdown, cohort_week, channel, industry, grade
            order by step_order
        ) as previous_people
    from counts
),

final as (
    select
        cast(breakdown as varchar) as breakdown,
        cast(cohort_week as date) as cohort_week,
        cast(channel as varchar) as channel,
        cast(industry as varchar) as industry,
        cast(grade as varchar) as grade,
        cast(step as varchar) as stage,
        cast(step_order as integer) as stage_order,
        cast(entered as integer) as entered,
        cast(people as integer) as people,
        cast(
            case
                when previous_people is null then case when people > 0 then 1.0 end
                else people * 1.0 / nullif(previous_people, 0)
            end as double precision
        ) as conversion_from_previous,
        cast(people * 1.0 / nullif(entered, 0) as double precision) as conversion_from_first,
        cast(median_hours_from_previous as double precision) as median_hours_from_previous,
        cast(median_hours_from_first as double precision) as median_hours_from_first
    from with_previous
)

select * from final
