{#- The funnel's building blocks (docs/funnel.md). A row of the seed funnel_steps (or
    funnel_stall_rules) says how a step is reached by its `kind`; each kind is one macro below that
    returns the moments a person matched a rule: person_id, occurred_at, role, step. -#}

{#- An event of `events` matches a rule's conditions: event_type, optionally form_type, page_pattern
    (SQL LIKE on the path) and min_engagement_seconds (strictly exceeded); a null condition always
    holds. The same conditions as the scoring rules' `event` signal. -#}
{% macro funnel_event_condition(events, event_type, form_type, page_pattern, min_engagement_seconds) -%}
    {{ events }}.event_type = {{ event_type }}
        and ({{ form_type }} is null or {{ events }}.form_type = {{ form_type }})
        and ({{ page_pattern }} is null or {{ events }}.page_path like {{ page_pattern }})
        and (
            {{ min_engagement_seconds }} is null
            or {{ events }}.engagement_seconds > {{ min_engagement_seconds }}
        )
{%- endmacro %}

{#- The rows of `events` that reach a rule of `kind`, at their time column `at`: `condition` is the
    SQL that joins a rule to a row (none: every row of a known person and time reaches the rule). -#}
{% macro funnel_matches_events(rules, events, kind, condition=none, at='event_at') -%}
    select
        {{ events }}.person_id,
        {{ events }}.{{ at }} as occurred_at,
        {{ rules }}.role,
        {{ rules }}.step
    from {{ events }}
    inner join {{ rules }}
        on {{ rules }}.kind = '{{ kind }}'
        {%- if condition is not none %}
        and {{ condition }}
        {%- endif %}
    where {{ events }}.person_id is not null
        and {{ events }}.{{ at }} is not null
{%- endmacro %}

{#- kind event: every event of int_events_unified that meets the rule's conditions. -#}
{% macro funnel_matches_event(rules, events) -%}
    {{ funnel_matches_events(rules, events, 'event', funnel_event_condition(
        events, rules ~ '.event_type', rules ~ '.form_type', rules ~ '.page_pattern', rules ~ '.min_engagement_seconds'
    )) }}
{%- endmacro %}

{#- kind engaged_page_view: a page view engaged strictly longer than var
    engaged_min_engagement_seconds (optionally on the rule's page_pattern). -#}
{% macro funnel_matches_engaged_page_view(rules, events) -%}
    {%- set condition -%}
        {{ events }}.event_type = 'page_view'
        and {{ events }}.engagement_seconds > {{ var('engaged_min_engagement_seconds') }}
        and ({{ rules }}.page_pattern is null or {{ events }}.page_path like {{ rules }}.page_pattern)
    {%- endset -%}
    {{ funnel_matches_events(rules, events, 'engaged_page_view', condition) }}
{%- endmacro %}

{#- kind touch: every marketing touch of int_touchpoints (web session, email click, form, CRM lead). -#}
{% macro funnel_matches_touch(rules, touches) -%}
    {{ funnel_matches_events(rules, touches, 'touch', at='touched_at') }}
{%- endmacro %}

{#- kind grade: the moments a person's grade BECAME the rule's grade in the daily history
    (lead_score_trends, person ids as of today): a snapshot day in that grade after a day in
    another grade, or the person's first snapshot day. The moment is the snapshot's scored_at (the
    end of the day it describes). Two people merged later may both have a row for one day: the
    person was in the grade that day if either row was. Staying in the grade is no new moment;
    dropping out and coming back is. -#}
{% macro funnel_matches_grade(rules, grade_history) -%}
    select
        grade_days.person_id,
        grade_days.occurred_at,
        {{ rules }}.role,
        {{ rules }}.step
    from (
        select
            grade_flags.*,
            lag(grade_flags.is_in_grade) over (
                partition by grade_flags.person_id, grade_flags.grade
                order by grade_flags.snapshot_date
            ) as was_in_grade
        from (
            select
                {{ grade_history }}.person_id,
                grade_rules.grade,
                {{ grade_history }}.snapshot_date,
                max(case when {{ grade_history }}.grade = grade_rules.grade then 1 else 0 end) as is_in_grade,
                min({{ grade_history }}.scored_at) as occurred_at
            from {{ grade_history }}
            cross join (select distinct grade from {{ rules }} where kind = 'grade') as grade_rules
            where {{ grade_history }}.person_id is not null
                and {{ grade_history }}.snapshot_date is not null
            group by {{ grade_history }}.person_id, grade_rules.grade, {{ grade_history }}.snapshot_date
        ) as grade_flags
    ) as grade_days
    inner join {{ rules }}
        on {{ rules }}.kind = 'grade'
        and {{ rules }}.grade = grade_days.grade
    where grade_days.is_in_grade = 1
        and coalesce(grade_days.was_in_grade, 0) = 0
        and grade_days.occurred_at is not null
{%- endmacro %}

{#- The import CTEs funnel_matches reads by name (its defaults): the seed funnel_steps and the three
    models a rule's kind matches in. The models that match funnel steps start their `with` with it. -#}
{% macro funnel_match_imports() -%}
funnel_steps as (
    select * from {{ ref('funnel_steps') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

touches as (
    select * from {{ ref('int_touchpoints') }}
),

grade_history as (
    select * from {{ ref('int_grade_history') }}
)
{%- endmacro %}

{#- Every moment a person matched a rule of `rules` (steps and exclusions), by each kind above:
    person_id, occurred_at, role, step. The one matching of int_funnel_steps_reached and
    int_funnel_step_events (which counts every moment, not only the ordered ones). -#}
{% macro funnel_matches(rules, events='events', touches='touches', grade_history='grade_history') -%}
    {{ funnel_matches_touch(rules, touches) }}
    union all
    {{ funnel_matches_event(rules, events) }}
    union all
    {{ funnel_matches_engaged_page_view(rules, events) }}
    union all
    {{ funnel_matches_grade(rules, grade_history) }}
{%- endmacro %}

{#- The enabled steps of the seed funnel_steps in step order, read when the model is compiled
    (marts.funnel_stages has one column per step). Before the seed exists, while parsing and in a
    unit test (its fixture is no table): the default steps. -#}
{% macro funnel_step_names() -%}
    {%- set default_steps = ['awareness', 'engaged', 'mql', 'sql', 'won'] -%}
    {%- set seed = ref('funnel_steps') -%}  {#- before the execute check: parsing records the dependency -#}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(default_steps) }}
    {%- endif -%}
    {%- set relation = load_relation(seed) -%}
    {%- if relation is none -%}
        {{ return(default_steps) }}
    {%- endif -%}
    {%- set query -%}
        select step, min(step_order) as first_step_order
        from {{ relation }}
        where is_enabled and role = 'step'
        group by step
        order by first_step_order, step
    {%- endset -%}
    {%- set steps = run_query(query).columns[0].values() | list -%}
    {%- for step in steps -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', step) -%}
            {{ exceptions.raise_compiler_error(
                "funnel_steps: step " ~ step ~ " is not a lower-case identifier (it names columns of funnel_stages)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(steps if steps else default_steps) }}
{%- endmacro %}

{#- A funnel var, checked against its allowed values (a typo must not silently become another mode). -#}
{% macro funnel_var(name, allowed) -%}
    {%- set value = var(name) -%}
    {%- if value not in allowed -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be one of " ~ (allowed | join(', ')) ~ "; got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Hours (fractional) from `earlier` to `later`, two timestamps. -#}
{% macro hours_between(earlier, later) -%}
    ({{ dbt.datediff(earlier, later, 'second') }} / {{ float_literal('3600.0') }})
{%- endmacro %}

{#- The median of `expression` in a group (continuous: the mean of the middle two when even). -#}
{% macro median_of(expression) -%}
    {{ return(adapter.dispatch('median_of')(expression)) }}
{%- endmacro %}

{% macro default__median_of(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__median_of(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro duckdb__median_of(expression) -%}
    median({{ expression }})
{%- endmacro %}

{#- The seed funnel_steps describes one funnel: every step row has a step_order, a step has one
    step_order and shares it with no other step, and an exclusion names two steps of the funnel. -#}
{% test funnel_steps_are_consistent(model) %}
    with

    step_rows as (
        select * from {{ model }}
        where role = 'step'
    ),

    exclusion_rows as (
        select * from {{ model }}
        where role = 'exclusion'
    ),

    problems as (
        select step, 'step row without step_order' as problem
        from step_rows
        where step_order is null

        union all

        select step, 'step with several step_orders'
        from step_rows
        group by step
        having count(distinct step_order) > 1

        union all

        select cast(step_order as {{ sql_type('varchar') }}), 'step_order shared by several steps'
        from step_rows
        group by step_order
        having count(distinct step) > 1

        union all

        select exclusion_rows.step, 'exclusion whose from_step or to_step is not a step'
        from exclusion_rows
        where exclusion_rows.from_step is null
            or exclusion_rows.to_step is null
            or exclusion_rows.from_step not in (select step from step_rows)
            or exclusion_rows.to_step not in (select step from step_rows)
    )

    select * from problems
{% endtest %}

{#- The first row of int_funnel_steps_reached's walk over the steps: step 1 at the entry (the anchor
    of the recursive CTE `reached`, and the first round of funnel_reached_in_rounds). Reads the
    model's CTE windows. -#}
{% macro funnel_reached_anchor() -%}
    select
        person_id,
        attempt_number,
        window_end_at,
        1 as step_position,
        entered_at as reached_at,
        entered_at as anchor_at
    from windows
{%- endmacro %}

{#- int_funnel_steps_reached's walk over the steps (its CTE `reached`) without a recursive CTE, for
    Spark 3.5: the recursion advances one step a round and stops at the funnel's last step, so it is
    written out as one CTE per round (n rounds, n the funnel's enabled steps, read from the seed when
    the model is compiled: funnel_step_names). Round k+1 is the recursive CTE's step: the first
    candidate moment of step k+1 at or after the last step reached (or the anchor, past a skipped
    optional step) within the window, as a left join and min() in place of the correlated subquery.
    Each round is one row per attempt that carries the rounds before it (reached_at_<k>, anchor_at_<k>,
    has_<k>: whether the recursive CTE has a row for step k), so that every CTE is read once: Spark
    inlines a CTE wherever it is named, and a union of the rounds, each built on the one before,
    computed round 1 n times, round 2 n - 1 times, ... (and the window and candidates under each).
    `reached` unpivots the last round against steps: the recursive CTE's rows, the same columns.
    Reads the model's CTEs windows, steps, candidates and last_step. -#}
{% macro funnel_reached_in_rounds(funnel_order) -%}
{%- set rounds = funnel_step_names() | length -%}
reached__1 as (
    {{ funnel_reached_anchor() }}
),

walk__1 as (
    select
        person_id,
        attempt_number,
        window_end_at,
        reached_at as reached_at_1,
        anchor_at as anchor_at_1,
        true as has_1
    from reached__1
),
{%- for round in range(2, rounds + 1) %}
{%- set last = round - 1 %}
{%- set carried = ['person_id', 'attempt_number', 'window_end_at'] %}
{%- for k in range(1, round) %}
{%- do carried.extend(['reached_at_' ~ k, 'anchor_at_' ~ k, 'has_' ~ k]) %}
{%- endfor %}

walk__{{ round }} as (
    -- step {{ round }} follows step {{ last }} where the walk reached step {{ last }}, or skipped it as optional
    select
        {%- for column in carried %}
        previous.{{ column }},
        {%- endfor %}
        min(candidates.occurred_at) as reached_at_{{ round }},
        coalesce(previous.reached_at_{{ last }}, previous.anchor_at_{{ last }}) as anchor_at_{{ round }},
        previous.has_next as has_{{ round }}
    from (
        select
            walk.*,
            walk.has_{{ last }}
                and (walk.reached_at_{{ last }} is not null or steps.is_optional)
                and {{ last }} < (select last_position from last_step) as has_next
        from walk__{{ last }} as walk
        inner join steps
            on steps.step_position = {{ last }}
    ) as previous
    left join candidates
        on previous.has_next
        and candidates.person_id = previous.person_id
        and candidates.step_position = {{ round }}
        and candidates.occurred_at >= coalesce(previous.reached_at_{{ last }}, previous.anchor_at_{{ last }})
        and candidates.occurred_at <= previous.window_end_at
        {%- if funnel_order == 'strict' %}
        and candidates.strict_anchor_at >= previous.reached_at_{{ last }}
        {%- endif %}
    group by
        {%- for column in carried %}
        previous.{{ column }},
        {%- endfor %}
        previous.has_next
),
{%- endfor %}

reached as (
    select
        walk.person_id,
        walk.attempt_number,
        walk.window_end_at,
        steps.step_position,
        case steps.step_position
            {%- for k in range(1, rounds + 1) %}
            when {{ k }} then walk.reached_at_{{ k }}
            {%- endfor %}
        end as reached_at,
        case steps.step_position
            {%- for k in range(1, rounds + 1) %}
            when {{ k }} then walk.anchor_at_{{ k }}
            {%- endfor %}
        end as anchor_at
    from walk__{{ rounds }} as walk
    inner join steps
        on case steps.step_position
            {%- for k in range(1, rounds + 1) %}
            when {{ k }} then walk.has_{{ k }}
            {%- endfor %}
            else false
        end
)
{%- endmacro %}
