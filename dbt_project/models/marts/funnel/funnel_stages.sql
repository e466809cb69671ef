{#- The funnel per person: one row per attempt (var funnel_attempts = first: the first entry only,
    so one row per person), and one row, attempt_number null, for a person who never entered.
    `<step>_at` is when the attempt reached each step of the seed funnel_steps (null: not reached),
    `hours_to_<step>` the hours from the previous step. An excluded attempt keeps its timestamps
    and is_excluded is true: it is out of funnel_conversion. Steps, order mode, window and
    exclusions: int_funnel_steps_reached and docs/funnel.md. The step columns follow the seed,
    read when the model is compiled (macro funnel_step_names). Only people with consent to
    analytics (people.consent_analytics, docs/privacy.md): per-person analytics of somebody who
    denied it is not kept, fail closed (a null is no consent). -#}
{%- set steps = funnel_step_names() -%}
with

people as (
    -- per-person analytics needs the person's consent to analytics (docs/privacy.md)
    select * from {{ ref('people') }}
    where consent_analytics
),

steps_reached as (
    select * from {{ ref('int_funnel_steps_reached') }}
),

attempts as (
    select
        person_id,
        attempt_number,
        min(entered_at) as entered_at,
        min(window_end_at) as window_end_at,
        {%- for step in steps %}
        max(case when step = '{{ step }}' then reached_at end) as {{ step }}_at,
        {%- endfor %}
        {%- for step in steps[1:] %}
        max(case when step = '{{ step }}' then hours_from_previous end) as hours_to_{{ step }},
        {%- endfor %}
        max(step_order) as furthest_step_order,
        max(case when is_excluded then 1 else 0 end) = 1 as is_excluded,
        min(excluded_by) as excluded_by,
        min(excluded_at) as excluded_at
    from steps_reached
    group by person_id, attempt_number
),

furthest_steps as (
    select distinct
        step_order,
        step
    from steps_reached
),

final as (
    select
        cast(people.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(attempts.attempt_number as integer) as attempt_number,
        cast(attempts.entered_at as timestamp) as entered_at,
        cast(attempts.window_end_at as timestamp) as window_end_at,
        {%- for step in steps %}
        cast(attempts.{{ step }}_at as timestamp) as {{ step }}_at,
        {%- endfor %}
        {%- for step in steps[1:] %}
        cast(attempts.hours_to_{{ step }} as {{ sql_type('double precision') }}) as hours_to_{{ step }},
        {%- endfor %}
        cast(furthest_steps.step as {{ sql_type('varchar') }}) as furthest_step,
        cast(attempts.furthest_step_order as integer) as furthest_step_order,
        coalesce(attempts.is_excluded, false) as is_excluded,
        cast(attempts.excluded_by as {{ sql_type('varchar') }}) as excluded_by,
        cast(attempts.excluded_at as timestamp) as excluded_at
    -- this model's own joins (on person_id, step_order): a join chain alike in shape only to other models', other relations
    from people
    left join attempts
        on attempts.person_id = people.person_id
    left join furthest_steps
        on furthest_steps.step_order = attempts.furthest_step_order
)

select * from final
