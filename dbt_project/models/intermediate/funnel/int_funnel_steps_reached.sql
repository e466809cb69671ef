{#- The funnel's step-reaching model: one row per attempt of a person and step reached, by the
    steps of the seed funnel_steps and the vars funnel_order, funnel_conversion_window_days and
    funnel_attempts (semantics in docs/funnel.md and the model's yml):
      entry        a person enters at their first moment of step 1; the window closes
                   funnel_conversion_window_days later, its end included
      ordered      step k is the first moment of step k at or after step k-1 (the same second
                   counts as after), within the window; other events may come in between;
                   an optional step (seed is_optional) not reached is skipped: step k+1 is
                   searched from the last step reached
      strict       as ordered, and no funnel moment strictly between the last moment of step k-1
                   and step k (a repeat of step k-1 is no interruption, the same second never is)
      any          step k is the first moment of step k within the window, counted when steps
                   1..k all happened in it, in any order (none counts before the entry); an
                   optional step may be missing
      attempts     first: the first entry only; each: the first step-1 moment after a window
                   closed starts the next attempt
      exclusions   an exclusion rule's moment between its from_step and its to_step (or the
                   window's end when to_step was not reached), both ends included, marks the
                   whole attempt excluded (it leaves the funnel, as PostHog's exclusion steps)
    Person ids are today's (int_events_unified, int_touchpoints and int_grade_history all resolve
    identities and merges), so two people merged later are one person here, with both histories. -#}
{%- set funnel_order = funnel_var('funnel_order', ['ordered', 'strict', 'any']) -%}
{%- set funnel_attempts = funnel_var('funnel_attempts', ['first', 'each']) -%}
{%- set window_days = var('funnel_conversion_window_days') -%}
{#- Spark 3.5 has no recursive CTE: the walk over the steps in rounds there (funnel_reached_in_rounds);
    var funnel_walk_in_rounds (default false), or INTENT_FUNNEL_WALK_IN_ROUNDS=true, takes that path on
    any engine, so that the edge cases test it on DuckDB (tests/dbt/test_funnel_marts.py). The
    environment is read only when a node runs (macro setting): a --vars run re-parses the whole
    project, an env var read at parse time the files that read it -#}
{%- set walk_in_rounds = setting('funnel_walk_in_rounds', false) -%}
{%- set recursive = recursive_ctes() and not walk_in_rounds -%}
{%- if funnel_attempts == 'each' and not recursive and execute -%}
    {{ exceptions.raise_compiler_error("int_funnel_steps_reached: funnel_attempts = each needs a recursive CTE, which " ~ (target.type ~ " does not have" if not recursive_ctes() else "var funnel_walk_in_rounds leaves out") ~ " (docs/portability.md, Spark); funnel_attempts = first builds there") }}
{%- endif %}
with{{ ' recursive' if recursive }}

-- funnel_steps, events, touches, grade_history (macros/funnel.sql)
{{ funnel_match_imports() }},

rules as (
    select * from funnel_steps
    where is_enabled
),

steps as (
    -- the funnel's steps numbered 1..n in step_order; an optional step (any of its rows says so)
    -- may be skipped, except the entry{% if funnel_order == 'strict' %} (strict: no step is optional){% endif %}
    select
        step,
        step_order,
        row_number() over (order by step_order, step) as step_position,
        {%- if funnel_order == 'strict' %}
        false as is_optional
        {%- else %}
        is_optional and row_number() over (order by step_order, step) > 1 as is_optional
        {%- endif %}
    from (
        select
            step,
            min(step_order) as step_order,
            max(case when coalesce(is_optional, false) then 1 else 0 end) = 1 as is_optional
        from rules
        where role = 'step'
        group by step
    ) as step_orders
),

last_step as (
    select max(step_position) as last_position
    from steps
),

matches as (
    {{ funnel_matches('rules') }}
),

occurrences as (
    -- every moment a person matched a step: one row however many rules or events matched then
    select distinct
        matches.person_id,
        steps.step_position,
        matches.occurred_at
    from matches
    inner join steps
        on steps.step = matches.step
    where matches.role = 'step'
),

exclusions as (
    select distinct
        step as exclusion,
        from_step,
        to_step
    from rules
    where role = 'exclusion'
),

exclusion_occurrences as (
    select distinct
        person_id,
        step as exclusion,
        occurred_at
    from matches
    where role = 'exclusion'
),

entries as (
    select
        person_id,
        occurred_at
    from occurrences
    where step_position = 1
),

attempts as (
    -- the first step-1 moment opens attempt 1; with funnel_attempts = each, the first step-1 moment
    -- after an attempt's window closed opens the next one (a null entered_at ends the recursion)
    select
        person_id,
        1 as attempt_number,
        min(occurred_at) as entered_at
    from entries
    group by person_id
    {%- if funnel_attempts == 'each' %}

    union all

    select
        attempts.person_id,
        attempts.attempt_number + 1 as attempt_number,
        (
            select min(entries.occurred_at)
            from entries
            where entries.person_id = attempts.person_id
                and entries.occurred_at > {{ dbt.dateadd('day', window_days, 'attempts.entered_at') }}
        ) as entered_at
    from attempts
    where attempts.entered_at is not null
    {%- endif %}
),

windows as (
    select
        person_id,
        attempt_number,
        entered_at,
        {{ dbt.dateadd('day', window_days, 'entered_at') }} as window_end_at
    from attempts
    where entered_at is not null
),
{%- if funnel_order == 'any' %}

first_moments as (
    -- the first moment of every step within the window, from the entry on
    select
        windows.person_id,
        windows.attempt_number,
        steps.step_position,
        steps.is_optional,
        min(occurrences.occurred_at) as first_at
    from windows
    cross join steps
    left join occurrences
        on occurrences.person_id = windows.person_id
        and occurrences.step_position = steps.step_position
        and occurrences.occurred_at >= windows.entered_at
        and occurrences.occurred_at <= windows.window_end_at
    group by windows.person_id, windows.attempt_number, steps.step_position, steps.is_optional
),

reached as (
    -- step k counts when it and every required step of 1..k happened within the window (an
    -- optional step may be missing)
    select
        person_id,
        attempt_number,
        step_position,
        case
            when first_at is not null
                and min(case when first_at is null and not is_optional then 0 else 1 end) over (
                    partition by person_id, attempt_number
                    order by step_position
                    rows between unbounded preceding and current row
                ) = 1 then first_at
        end as reached_at
    from first_moments
),
{%- else %}

candidates as (
    -- moments of steps 2..n{% if funnel_order == 'strict' %}, each with the moment of the previous step that
    -- it directly follows: the same moment, or the person's funnel moment just before it{% endif %}
    select
        occurrences.person_id,
        occurrences.step_position,
        occurrences.occurred_at
        {%- if funnel_order == 'strict' %},
        case
            when previous_step_now.person_id is not null then occurrences.occurred_at
            when previous_step_before.person_id is not null then funnel_moments.previous_moment_at
        end as strict_anchor_at
        {%- endif %}
    from occurrences
    {%- if funnel_order == 'strict' %}
    inner join (
        -- the distinct moments of a person's funnel events, each with the one before it
        select
            person_id,
            occurred_at,
            lag(occurred_at) over (partition by person_id order by occurred_at) as previous_moment_at
        from (select distinct person_id, occurred_at from occurrences) as moments
    ) as funnel_moments
        on funnel_moments.person_id = occurrences.person_id
        and funnel_moments.occurred_at = occurrences.occurred_at
    left join occurrences as previous_step_now
        on previous_step_now.person_id = occurrences.person_id
        and previous_step_now.step_position = occurrences.step_position - 1
        and previous_step_now.occurred_at = occurrences.occurred_at
    left join occurrences as previous_step_before
        on previous_step_before.person_id = occurrences.person_id
        and previous_step_before.step_position = occurrences.step_position - 1
        and previous_step_before.occurred_at = funnel_moments.previous_moment_at
    {%- endif %}
    where occurrences.step_position > 1
),

{%- if recursive %}
reached as (
    -- step 1 at the entry, then step by step: the first moment of the next step at or after the
    -- last step reached (anchor_at), within the window. A null reached_at ends the recursion, unless
    -- the step is optional: the next step is then searched from the same anchor
    {{ funnel_reached_anchor() }}

    union all

    select
        reached.person_id,
        reached.attempt_number,
        reached.window_end_at,
        reached.step_position + 1 as step_position,
        (
            select min(candidates.occurred_at)
            from candidates
            where candidates.person_id = reached.person_id
                and candidates.step_position = reached.step_position + 1
                and candidates.occurred_at >= coalesce(reached.reached_at, reached.anchor_at)
                and candidates.occurred_at <= reached.window_end_at
                {%- if funnel_order == 'strict' %}
                and candidates.strict_anchor_at >= reached.reached_at
                {%- endif %}
        ) as reached_at,
        coalesce(reached.reached_at, reached.anchor_at) as anchor_at
    from reached
    inner join steps
        on steps.step_position = reached.step_position
    where (reached.reached_at is not null or steps.is_optional)
        and reached.step_position < (select last_position from last_step)
),
{%- else %}
{{ funnel_reached_in_rounds(funnel_order) }},
{%- endif %}
{%- endif %}

reached_steps as (
    select
        reached.person_id,
        reached.attempt_number,
        steps.step_position,
        steps.step_order,
        steps.step,
        reached.reached_at
    from reached
    inner join steps
        on steps.step_position = reached.step_position
    where reached.reached_at is not null
),

exclusion_spans as (
    -- where an exclusion counts in an attempt: from the moment its from_step was reached to the
    -- moment its to_step was, or to the window's end when to_step was not; both ends included
    select
        windows.person_id,
        windows.attempt_number,
        exclusions.exclusion,
        case
            when to_step.reached_at is null then from_step.reached_at
            else least(from_step.reached_at, to_step.reached_at)
        end as span_start_at,
        case
            when to_step.reached_at is null then windows.window_end_at
            else greatest(from_step.reached_at, to_step.reached_at)
        end as span_end_at
    from windows
    cross join exclusions
    inner join reached_steps as from_step
        on from_step.person_id = windows.person_id
        and from_step.attempt_number = windows.attempt_number
        and from_step.step = exclusions.from_step
    left join reached_steps as to_step
        on to_step.person_id = windows.person_id
        and to_step.attempt_number = windows.attempt_number
        and to_step.step = exclusions.to_step
),

exclusion_hits as (
    select
        exclusion_spans.person_id,
        exclusion_spans.attempt_number,
        exclusion_spans.exclusion,
        min(exclusion_occurrences.occurred_at) as excluded_at
    -- this model's own joins (on person_id): a join chain alike in shape only to other models', other relations
    from exclusion_spans
    inner join exclusion_occurrences
        on exclusion_occurrences.person_id = exclusion_spans.person_id
        and exclusion_occurrences.exclusion = exclusion_spans.exclusion
        and exclusion_occurrences.occurred_at >= exclusion_spans.span_start_at
        and exclusion_occurrences.occurred_at <= exclusion_spans.span_end_at
    group by exclusion_spans.person_id, exclusion_spans.attempt_number, exclusion_spans.exclusion
),

first_exclusions as (
    select
        exclusion_hits.*,
        row_number() over (
            partition by person_id, attempt_number
            order by excluded_at, exclusion
        ) as hit_rank
    from exclusion_hits
),

final as (
    select
        cast(reached_steps.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(reached_steps.attempt_number as integer) as attempt_number,
        cast(windows.entered_at as timestamp) as entered_at,
        cast(windows.window_end_at as timestamp) as window_end_at,
        cast(reached_steps.step_order as integer) as step_order,
        cast(reached_steps.step as {{ sql_type('varchar') }}) as step,
        cast(reached_steps.reached_at as timestamp) as reached_at,
        cast(reached_steps.previous_reached_at as timestamp) as previous_reached_at,
        cast({{ hours_between('reached_steps.previous_reached_at', 'reached_steps.reached_at') }} as {{ sql_type('double precision') }})
            as hours_from_previous,
        cast({{ hours_between('windows.entered_at', 'reached_steps.reached_at') }} as {{ sql_type('double precision') }})
            as hours_from_entry,
        first_exclusions.exclusion is not null as is_excluded,
        cast(first_exclusions.exclusion as {{ sql_type('varchar') }}) as excluded_by,
        cast(first_exclusions.excluded_at as timestamp) as excluded_at
    from (
        -- the previous step reached (a skipped optional step is not one)
        select
            reached_steps.*,
            lag(reached_steps.reached_at) over (
                partition by reached_steps.person_id, reached_steps.attempt_number
                order by reached_steps.step_position
            ) as previous_reached_at
        from reached_steps
    ) as reached_steps
    inner join windows
        on windows.person_id = reached_steps.person_id
        and windows.attempt_number = reached_steps.attempt_number
    left join first_exclusions
        on first_exclusions.person_id = reached_steps.person_id
        and first_exclusions.attempt_number = reached_steps.attempt_number
        and first_exclusions.hit_rank = 1
)

select * from final
