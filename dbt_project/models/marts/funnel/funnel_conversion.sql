{#- Funnel conversion per step, overall and broken down by cohort week (the ISO week, Monday, of the
    attempt's entry, UTC), channel (of the person's first touch in int_touchpoints), industry and
    grade (the person's current ones), each alone and all four together (breakdown names which; the
    other dimension columns are null). people: attempts that reached the step (with var
    funnel_attempts = first, one per person); entered: attempts in the group; conversion from the
    previous step and from the entry; median hours from the previous step and from the entry over
    the attempts that reached the step. Excluded attempts are not counted. Steps, order mode, window
    and exclusions: int_funnel_steps_reached and docs/funnel.md. definition says what people counts;
    step_events / step_people (overall rows) are the plain counts of the step's moments at any time
    (int_funnel_step_events), so the funnel's won and the CRM's wins meet on one row. An optional
    step may count fewer than the step after it: conversion_from_previous is from the previous
    required step. Only the attempts of people with consent to analytics (people.consent_analytics,
    docs/privacy.md): these counts follow a person's own journey, so somebody who denied analytics
    is not in them; step_events / step_people are the plain counts of every moment, as the CRM's
    own totals count every deal. -#}
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
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

steps_reached as (
    select * from {{ ref('int_funnel_steps_reached') }}
),

funnel_steps as (
    select * from {{ ref('funnel_steps') }}
),

step_counts as (
    select
        step as counted_step,
        step_events,
        step_people
    from {{ ref('int_funnel_step_events') }}
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
        min(step_order) as step_order,
        max(case when coalesce(is_optional, false) then 1 else 0 end) = 1 as is_optional
    from funnel_steps
    where is_enabled
        and role = 'step'
    group by step
),

step_positions as (
    -- the entry is never optional, and strict order has no optional step (int_funnel_steps_reached)
    select
        step,
        step_order,
        is_optional
        and row_number() over (order by step_order, step) > 1
        and '{{ var("funnel_order") }}' <> 'strict' as is_optional,
        first_value(step) over (order by step_order, step rows between unbounded preceding and unbounded following)
            as entry_step
    from steps
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
    -- per-person analytics needs consent to analytics (docs/privacy.md); fail closed
    inner join people
        on people.person_id = steps_reached.person_id
        and people.consent_analytics
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
        {{ 'attempt_steps.' ~ dimension if dimension in grouped else 'cast(null as ' ~ sql_type(data_type) ~ ')' }} as {{ dimension }},
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
    -- the previous required step's count: an optional step may be skipped, so a later step can
    -- count more than it; every attempt at step k reached every required step before k, so the
    -- smallest count of the required steps before k is the last one's
    select
        counts.*,
        step_positions.is_optional,
        step_positions.entry_step,
        min(case when not step_positions.is_optional then counts.people end) over (
            partition by counts.breakdown, counts.cohort_week, counts.channel, counts.industry, counts.grade
            order by counts.step_order
            rows between unbounded preceding and 1 preceding
        ) as previous_people
    from counts
    inner join step_positions
        on step_positions.step = counts.step
),

final as (
    -- the relation's column types, one cast a column: alike in shape only to other typed selects, other columns
    select
        cast(breakdown as {{ sql_type('varchar') }}) as breakdown,
        cast(cohort_week as date) as cohort_week,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(industry as {{ sql_type('varchar') }}) as industry,
        cast(grade as {{ sql_type('varchar') }}) as grade,
        cast(step as {{ sql_type('varchar') }}) as stage,
        cast(step_order as integer) as stage_order,
        cast(entered as integer) as entered,
        cast(people as integer) as people,
        cast(
            case
                when previous_people is null then case when people > 0 then 1.0 end
                else people * 1.0 / nullif(previous_people, 0)
            end as {{ sql_type('double precision') }}) as conversion_from_previous,
        cast(people * 1.0 / nullif(entered, 0) as {{ sql_type('double precision') }}) as conversion_from_first,
        cast(median_hours_from_previous as {{ sql_type('double precision') }}) as median_hours_from_previous,
        cast(median_hours_from_first as {{ sql_type('double precision') }}) as median_hours_from_first,
        cast(with_previous.is_optional as boolean) as is_optional,
        -- what people counts, in words, beside the plain counts it can be reconciled with
        cast(
            case when with_previous.step = with_previous.entry_step
                then 'attempts that entered the funnel at their first ' || with_previous.step
                    || ' moment ({{ var("funnel_attempts") }} attempt'
                    || '{{ "s" if var("funnel_attempts") == "each" else "" }} per person)'
                else 'attempts that reached ' || with_previous.step
                    || ' within {{ var("funnel_conversion_window_days") }} days of entering at '
                    || with_previous.entry_step || ', {{ var("funnel_order") }} order, '
                    || case when with_previous.is_optional then 'an optional step (may be skipped)'
                        else 'after every earlier required step' end
                    || ' ({{ var("funnel_attempts") }} attempt'
                    || '{{ "s" if var("funnel_attempts") == "each" else "" }} per person)'
            end
            || '; excluded attempts not counted'
            as {{ sql_type('varchar') }}) as definition,
        -- the plain counts, overall rows only: every moment of the step at any time, in any order
        cast(case when with_previous.breakdown = 'overall' then step_counts.step_events end as integer)
            as step_events,
        cast(case when with_previous.breakdown = 'overall' then step_counts.step_people end as integer)
            as step_people
    from with_previous
    left join step_counts
        on step_counts.counted_step = with_previous.step
)

select * from final
