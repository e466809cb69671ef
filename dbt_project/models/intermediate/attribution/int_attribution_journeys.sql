{#- The journeys attribution credits, one row per touch of each journey:
      a conversion's journey: the person's touches (int_touchpoints) within
        var attribution_lookback_days before the conversion, the conversion's instant included;
        a conversion is an event of type var attribution_conversion_event (default opportunity_won),
        its value the event's amount in the reporting currency (int_events_unified.amount_reporting,
        macros/currency.sql: null when the currency has no rate, 0 when there is no amount). A conversion with no touch in the window
        gets one pseudo-touch 'Unattributed', so every conversion hands out its whole credit;
      a non-converting journey ('null:<person_id>'): a person with touches and no conversion, their
        touches within the lookback window before their last touch (the Markov chain's and
        Shapley's null paths).
    age_days: days between the touch and the conversion (or the journey's last touch).
    Incremental per person (docs/incremental.md, "Events and journeys"): a person's journeys are a
    function of their touches, their conversions and the vars, so a daily run computes again only the
    persons whose touches or conversions differ from the run before's (a digest per person, kept in
    `<this>__inputs`: a new touch, a new conversion, a merge, a split, a touch gone); a change of the
    vars (the fingerprint) or a run without the kept digests computes every journey. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='person_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ delete_kept_digests_changed('person_id', 'persons_changed') }}",
    post_hook="{{ journeys_kept_state(ref('int_events_unified'), ref('int_touchpoints')) }}",
) }}

{%- set recompute = journeys_recompute() -%}
{%- if recompute -%}
    {%- do journeys_recompute_scope(ref('int_events_unified'), ref('int_touchpoints')) -%}
{%- endif %}

with
-- a daily run's scope: this model's own inputs narrowed to what the day changed (the shape repeats, the keys differ)

touches as (
    select * from {{ ref('int_touchpoints') }}
    {%- if recompute %}
    where person_id in (select person_id from {{ identity_scratch('persons_changed') }})
    {%- endif %}
),

conversions as (
    select *
    from ({{ attribution_conversions(ref('int_events_unified')) }}) as all_conversions
    {%- if recompute %}
    where person_id in (select person_id from {{ identity_scratch('persons_changed') }})
    {%- endif %}
),

converting_touches as (
    -- a conversion's touches within the lookback; a conversion without one (the left join finds
    -- none) gets its pseudo-touch 'Unattributed' at the conversion's instant
    select
        conversions.conversion_id as journey_id,
        conversions.person_id,
        true as is_conversion,
        conversions.converted_at,
        conversions.conversion_value,
        coalesce(touches.touch_id, 'unattributed:' || conversions.conversion_id) as touch_id,
        coalesce(touches.touched_at, conversions.converted_at) as touched_at,
        case when touches.touch_id is null then 'Unattributed' else touches.channel end as channel,
        touches.campaign,
        conversions.converted_at as journey_end_at
    from conversions
    left join touches
        on touches.person_id = conversions.person_id
        and touches.touched_at <= conversions.converted_at
        and touches.touched_at
            >= {{ dbt.dateadd('day', -var('attribution_lookback_days'), 'conversions.converted_at') }}
),

non_converters as (
    select
        touches.person_id,
        max(touches.touched_at) as last_touched_at
    from touches
    where touches.person_id not in (select person_id from conversions)
    group by touches.person_id
),

null_touches as (
    select
        'null:' || touches.person_id as journey_id,
        touches.person_id,
        false as is_conversion,
        cast(null as timestamp) as converted_at,
        cast(null as {{ sql_type('double precision') }}) as conversion_value,
        touches.touch_id,
        touches.touched_at,
        touches.channel,
        touches.campaign,
        non_converters.last_touched_at as journey_end_at
    from touches
    inner join non_converters
        on non_converters.person_id = touches.person_id
    where touches.touched_at
        >= {{ dbt.dateadd('day', -var('attribution_lookback_days'), 'non_converters.last_touched_at') }}
),

journeys as (
    select * from converting_touches
    union all
    select * from null_touches
),

final as (
    select
        cast(journey_id as {{ sql_type('varchar') }}) as journey_id,
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        is_conversion,
        cast(converted_at as timestamp) as converted_at,
        cast(conversion_value as {{ sql_type('double precision') }}) as conversion_value,
        cast(
            row_number() over (partition by journey_id order by touched_at, touch_id) as integer
        ) as touch_number,
        cast(touch_id as {{ sql_type('varchar') }}) as touch_id,
        cast(touched_at as timestamp) as touched_at,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(campaign as {{ sql_type('varchar') }}) as campaign,
        cast(
            {{ dbt.datediff('touched_at', 'journey_end_at', 'second') }} / {{ float_literal('86400.0') }} as {{ sql_type('double precision') }}) as age_days
    from journeys
)

select * from final
