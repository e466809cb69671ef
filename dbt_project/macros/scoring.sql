{#- Arithmetic of the scoring rules, shared by the scoring models. -#}

{#- The sum of a floating-point `value` that does not depend on the order the engine adds the rows in
    (hash aggregation adds them in an order that changes from run to run and thread to thread, so a
    double sum differs in its last bits between two builds of the same input): each value is cast
    to decimal(18, 9) (rounded to 9 decimal places, far below the whole points a score shows and the
    precision of a learned weight), the decimals are added exactly, and the exact sum is returned as
    a double. Portable: DuckDB, Postgres and Spark all sum decimals exactly; `sum(x order by ...)`
    would not be (Spark has no ordered aggregates). Values up to 10^9 in magnitude (each value; the sum
    may be larger). `over`: a window (`partition by ...`) to sum over instead of the group. `scale`:
    decimal places kept; shares that must add up to one (attribution credits) keep 18, as
    decimal(38, 18): a rounding of 1e-18 a value, below a double's own step near one, so a conversion's
    credits still sum to 1 within 1e-12 (values up to 10^20). -#}
{% macro exact_sum(value, over=none, scale=9) -%}
    cast(sum(cast({{ value }} as decimal({{ 38 if scale > 9 else 18 }}, {{ scale }}))){% if over is not none %} over ({{ over }}){% endif %} as {{ sql_type('double precision') }})
{%- endmacro %}

{#- `value` limited by `cap` towards zero: at most cap for positive points, at least cap (a floor)
    for negative ones; a null cap is no cap. -#}
{% macro capped_points(value, points, cap) -%}
    case
        when {{ cap }} is null then {{ value }}
        when {{ points }} < 0 then greatest({{ value }}, {{ cap }})
        else least({{ value }}, {{ cap }})
    end
{%- endmacro %}

{#- The share of a rule's points left `age_days` after the hit: 1 within decay_grace_days, then
    half_life (halves every decay_days) or linear (reaches 0 decay_days after the grace period);
    decay none (or null) keeps full points. -#}
{% macro decay_factor(decay, decay_days, grace_days, age_days) -%}
    case
        when {{ decay }} = 'half_life' and {{ age_days }} > coalesce({{ grace_days }}, 0)
            then power(0.5, ({{ age_days }} - coalesce({{ grace_days }}, 0)) / {{ decay_days }})
        when {{ decay }} = 'linear' and {{ age_days }} > coalesce({{ grace_days }}, 0)
            then greatest(0.0, 1.0 - ({{ age_days }} - coalesce({{ grace_days }}, 0)) / {{ decay_days }})
        else 1.0
    end
{%- endmacro %}

{#- The first run of digits in a text as an integer ("50-199人" -> 50, "1200" -> 1200), null if none. -#}
{% macro first_integer(text) -%}
    {{ return(adapter.dispatch('first_integer')(text)) }}
{%- endmacro %}

{% macro default__first_integer(text) -%}
    cast(substring({{ text }} from '[0-9]+') as integer)
{%- endmacro %}

{#- Spark: group 0 (its regexp_extract's default group is 1). -#}
{% macro spark__first_integer(text) -%}
    cast(nullif(regexp_extract({{ text }}, '[0-9]+', 0), '') as integer)
{%- endmacro %}

{% macro duckdb__first_integer(text) -%}
    cast(nullif(regexp_extract({{ text }}, '[0-9]+'), '') as integer)
{%- endmacro %}

{#- Days (fractional) from `earlier` to `later`, two timestamps. -#}
{% macro days_between(earlier, later) -%}
    ({{ dbt.datediff(earlier, later, 'second') }} / {{ float_literal('86400.0') }})
{%- endmacro %}

{#- The grade of a lead score: high_intent, potential or nurture (vars high_intent_threshold and
    potential_threshold). -#}
{% macro grade_of(score) -%}
    case
        when {{ score }} >= {{ var('high_intent_threshold') }} then 'high_intent'
        when {{ score }} >= {{ var('potential_threshold') }} then 'potential'
        else 'nurture'
    end
{%- endmacro %}

{#- True when a hit at `hit_at` (an event's, a CRM activity's or a session's last page view time,
    at or before the point `as_of_at`) is in its rule's window: any time before the point for a
    rule without window_days, else the window_days days before the point (the start excluded). The
    one window every kind of hit of int_lead_score_rules is counted in. -#}
{% macro in_rule_window(hit_at, as_of_at='score_points.as_of_at') -%}
(
            rules.window_days is null
            or {{ hit_at }} > {{ dbt.dateadd('day', '-rules.window_days', as_of_at) }}
        )
{%- endmacro %}

{#- The columns of a rule's hits at `hit_at` (an event's or a CRM activity's time), grouped by the
    caller: the bucket (one per day, or one 'window' for a rule that needs min_count hits), how
    many hits and the last one. -#}
{% macro rule_hit_counts(hit_at) -%}
case
            when coalesce(rules.min_count, 1) > 1 then 'window'
            else cast(cast({{ hit_at }} as date) as {{ sql_type('varchar') }})
        end as hit_bucket,
        count(*) as qualifying_count,
        max({{ hit_at }}) as last_hit_at
{%- endmacro %}

{#- SendGrid's delivery events (processed: sent, delivered, deferred, dropped) of `email_events`
    (stg_email__events) with the person whose mailbox they went to (`people_nodes`,
    int_people_resolved): the one path from a message to a person, read by the email_delivery rules
    (int_lead_score_rules) and the model's log_email_sends_all (int_scoring_features). The mailbox's
    node is keyed once in a subquery: a join on the expression itself with the time condition next to
    it made DuckDB compare every pair (80 s for 6,000 people). -#}
{% macro person_delivery_events(email_events, people_nodes) -%}
select
        {{ people_nodes }}.person_id,
        deliveries.sendgrid_event,
        deliveries.event_at
    from (
        select
            {{ node_key('email', 'email') }} as node_key,
            sendgrid_event,
            event_at
        from {{ email_events }}
        where sendgrid_event in ('processed', 'delivered', 'deferred', 'dropped')
    ) as deliveries
    inner join {{ people_nodes }}
        on {{ people_nodes }}.node_key = deliveries.node_key
{%- endmacro %}
