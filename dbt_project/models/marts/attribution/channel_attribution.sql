{#- First- and last-touch attribution of won opportunities. Touches count when they happened within
    var attribution_lookback_days days before the win (inclusive); a win without any touch in that
    window is credited to 'Unattributed', so each conversion hands out exactly 1 credit per model.
    conversions: wins credited to the channel; credit: the channel's share of all wins (0-1);
    revenue: amount of the wins credited (amounts summed as exported, currencies not converted). -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

conversions as (
    select
        event_id as conversion_id,
        person_id,
        event_at as converted_at,
        coalesce(amount, 0) as amount
    from events
    where event_type = 'opportunity_won'
),

eligible_touches as (
    select
        conversions.conversion_id,
        touchpoints.channel,
        row_number() over (
            partition by conversions.conversion_id
            order by touchpoints.touched_at, touchpoints.event_id
        ) as first_rank,
        row_number() over (
            partition by conversions.conversion_id
            order by touchpoints.touched_at desc, touchpoints.event_id desc
        ) as last_rank
    from conversions
    inner join touchpoints
        on touchpoints.person_id = conversions.person_id
        and touchpoints.touched_at <= conversions.converted_at
        and touchpoints.touched_at >= {{ dbt.dateadd('day', -var('attribution_lookback_days'), 'conversions.converted_at') }}
),

credited as (
    {%- for model, rank_column in [('first_touch', 'first_rank'), ('last_touch', 'last_rank')] %}
    select
        '{{ model }}' as attribution_model,
        conversions.conversion_id,
        coalesce(eligible_touches.channel, 'Unattributed') as channel,
        1.0 as credit,
        conversions.amount
    from conversions
    left join eligible_touches
        on eligible_touches.conversion_id = conversions.conversion_id
        and eligible_touches.{{ rank_column }} = 1
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

per_channel as (
    select
        attribution_model,
        channel,
        sum(credit) as conversions,
        sum(credit * amount) as revenue
    from credited
    group by attribution_model, channel
),

final as (
    select
        cast(attribution_model as varchar) as attribution_model,
        cast(channel as varchar) as channel,
        cast(conversions as integer) as conversions,
        cast(conversions * 1.0 / sum(conversions) over (partition by attribution_model) as double precision)
            as credit,
        cast(revenue as double precision) as revenue
    from per_channel
)

select * from final
