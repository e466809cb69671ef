{#- The GA4 events that arrived more than var lookback_days after their event_date (event_date before
    the day of the lake partition that brought them, minus lookback_days): a report, not a filter.
    They are merged and counted like every other event (stg_web__events; the sessions of their
    browser are recomputed, int_web_session_events), but a consumer that re-reads only the last
    lookback_days of event dates, as dbt-ga4's incremental tables do, would miss them. A backfilled
    history drop (the first landing of a source) is late by this definition, every row of it.
    docs/incremental.md. -#}
with

web_events as (
    select * from {{ ref('stg_web__events') }}
),

final as (
    select
        -- ids
        event_id,
        user_pseudo_id,
        event_name,

        -- timestamps
        event_date,
        event_at,
        _interval_start,
        {{ dbt.datediff('event_date', '_interval_start', 'day') }} as days_late,
        'arrived ' || cast({{ dbt.datediff('event_date', '_interval_start', 'day') }} as {{ sql_type('varchar') }})
        || ' days after its event_date, more than lookback_days ({{ var("lookback_days") }})' as reason
    from web_events
    where event_date < {{ dbt.dateadd('day', -(var('lookback_days') | int), '_interval_start') }}
)

select * from final
