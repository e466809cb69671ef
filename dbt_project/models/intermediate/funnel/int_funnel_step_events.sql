{#- A plain count per funnel step, with no order, window or attempt: every moment a person matched
    one of the step's rules (seed funnel_steps, the same macro funnel_matches as int_funnel_steps_reached), at any
    time. step_events: distinct (person, moment); step_people: distinct people. Beside the funnel's
    own counts in funnel_conversion, this is what reconciles "won" in the funnel with the wins in the
    CRM: the CRM counts every won opportunity, the funnel only attempts that reached won in order
    within the window (docs/funnel.md, "Reconciling"). -#}
with

-- funnel_steps, events, touches, grade_history (macros/funnel.sql)
{{ funnel_match_imports() }},

rules as (
    select * from funnel_steps
    where is_enabled
        and role = 'step'
),

matches as (
    {{ funnel_matches('rules') }}
),

moments as (
    select distinct
        step,
        person_id,
        occurred_at
    from matches
),

steps as (
    select distinct step from rules
),

final as (
    select
        cast(steps.step as {{ sql_type('varchar') }}) as step,
        cast(count(moments.person_id) as integer) as step_events,
        cast(count(distinct moments.person_id) as integer) as step_people
    from steps
    left join moments
        on moments.step = steps.step
    group by steps.step
)

select * from final
