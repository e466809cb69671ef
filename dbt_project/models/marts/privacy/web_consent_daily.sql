{#- GA4 consent mode in aggregate, one row per day, page and channel: the events sent with
    analytics consent (stg_web__events) and the cookieless pings sent without it
    (stg_web__consent_denied_events: privacy_info.analytics_storage = 'No'), and the consent rate.
    The only place consent-denied traffic is counted: it never reaches identity or a per-person mart.
    The channel is the event's own traffic source (GA4's default channel group of its UTM tags),
    the same rule for both, so the two counts compare.
    Incremental by event_date (docs/incremental.md, "web_consent_daily"): a day's row depends only on
    that day's events, so a daily run recomputes (delete+insert on event_date) only the dates that can
    differ from a full build's: the dates of the staging rows of the lake window's partitions (late
    events included, whatever their date), and the dates whose stored event count is no longer
    staging's (a partition purged by retention, a stored copy replaced by an older partition's); the
    post_hook deletes the dates left without any event. A full refresh (and Spark: incremental_or_table)
    rebuilds every date. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='event_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{% if is_incremental() %}delete from {{ this }} where event_date not in (
        select event_date from {{ ref('stg_web__events') }} where event_date is not null
        union
        select event_date from {{ ref('stg_web__consent_denied_events') }} where event_date is not null
    ){% endif %}",
) }}

with

{%- if is_incremental() %}

staged_per_date as (
    select event_date, count(*) as events
    from (
        select event_date from {{ ref('stg_web__events') }}
        union all
        select event_date from {{ ref('stg_web__consent_denied_events') }}
    ) as staged
    group by event_date
),

stored_per_date as (
    select event_date, sum(consented_events + denied_events) as events
    from {{ this }}
    group by event_date
),

dates_to_compute as (
    select event_date from {{ ref('stg_web__events') }} where {{ in_lake_window('_interval_start') }}
    union
    select event_date from {{ ref('stg_web__consent_denied_events') }} where {{ in_lake_window('_interval_start') }}
    union
    -- a date that lost events outside the window (a purged partition) or has none stored yet
    select coalesce(staged_per_date.event_date, stored_per_date.event_date)
    from staged_per_date
    full outer join stored_per_date
        on stored_per_date.event_date = staged_per_date.event_date
    where staged_per_date.events is distinct from stored_per_date.events
),

{%- endif %}

consented as (
    select event_date, event_name, page_path, source, medium, campaign, gclid, false as is_denied
    from {{ ref('stg_web__events') }}
    {%- if is_incremental() %}
    where event_date in (select event_date from dates_to_compute)
    {%- endif %}
),

denied as (
    select event_date, event_name, page_path, source, medium, campaign, gclid, true as is_denied
    from {{ ref('stg_web__consent_denied_events') }}
    {%- if is_incremental() %}
    where event_date in (select event_date from dates_to_compute)
    {%- endif %}
),

events as (
    select * from consented
    union all
    select * from denied
),

categorised as (
    {{ with_source_category('events', 'source') }}
),

channelled as (
    select
        event_date,
        coalesce(page_path, '(not set)') as page_path,
        {{ default_channel_group('source', 'medium', 'campaign', 'gclid', 'source_category') }} as channel,
        event_name,
        is_denied
    from categorised
),

final as (
    select
        cast(event_date as date) as event_date,
        cast(page_path as {{ sql_type('varchar') }}) as page_path,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(sum(case when not is_denied then 1 else 0 end) as bigint) as consented_events,
        cast(sum(case when is_denied then 1 else 0 end) as bigint) as denied_events,
        cast(sum(case when not is_denied and event_name = 'page_view' then 1 else 0 end) as bigint)
            as consented_page_views,
        cast(sum(case when is_denied and event_name = 'page_view' then 1 else 0 end) as bigint) as denied_page_views,
        cast(sum(case when not is_denied then 1 else 0 end) * 1.0 / count(*) as {{ sql_type('double precision') }}) as consent_rate
    from channelled
    group by event_date, page_path, channel
)

select * from final
