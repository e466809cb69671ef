{#- Every GA4 event with the session it belongs to: the one place a web session is defined, read by
    int_web_sessions (one row per session) and int_events_unified (the session_key of page views).
    A session is (user_pseudo_id, ga_session_id): session_key `<user_pseudo_id>:<ga_session_id>`.
    Events exported without ga_session_id are sessionised per user_pseudo_id among themselves: a
    new session starts when more than var session_timeout_minutes (30) passed since that browser's
    previous such event; its key is `<user_pseudo_id>:t<epoch seconds of its first event>` (the
    `t` keeps it apart from GA4's own ids, which are epoch seconds too). A referrer on one of the
    company's own domains (seed own_domains) is no referrer here: moving www. → shop. → a payment
    page stays in the session without a new source.
    Incremental per event and session (docs/incremental.md, "Web sessions per touched session"): an
    event with a ga_session_id is a row of its own, so a daily run computes only the events of the
    partitions it read (and replaces the stored copies staging replaced or lost); the sessions inferred
    by the timeout look only at one browser's consecutive events without an id, so a stored one that
    ended more than the timeout before the browser's earliest changed event (a late one included,
    whatever its age) cannot change: it is kept, and the browser's events from the first session it
    cannot keep are computed again (sessions_reopened). The post_hook removes the stored rows staging
    no longer has (a partition purged, or read again without them). -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_session_events_gone(ref('stg_web__events')) }}",
) }}

{#- A table built before this model was incremental has no _interval_start: that first run
    recomputes every browser (and on_schema_change adds the column). -#}
{%- set incremental_run = is_incremental()
    and '_interval_start' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}

with

{%- if incremental_run %}

{{ sessions_reopened(ref('stg_web__events')) }}

web_events as (
    -- the window's events, and the events of the sessions without an id that a changed event can reach
    select * from window_events
    union all
    select staged.*
    from {{ ref('stg_web__events') }} as staged
    inner join reopened
        on reopened.user_pseudo_id = staged.user_pseudo_id
    where staged.ga_session_id is null
        and staged.event_at >= reopened.reopened_at
        and not {{ in_lake_window('staged._interval_start') }}
),

{%- else %}

web_events as (
    select * from {{ ref('stg_web__events') }}
),

{%- endif %}

own_domains as (
    select distinct
        case when lower(trim(domain)) like 'www.%' then substr(lower(trim(domain)), 5) else lower(trim(domain)) end
            as domain
    from {{ ref('own_domains') }}
),

own_referrers as (
    -- the referrer hosts that are the company's own (or a payment page it sends buyers to): never
    -- a referral (seed own_domains)
    select distinct web_events.event_id
    from web_events
    inner join own_domains
        on web_events.referrer_host = own_domains.domain
        or web_events.referrer_host like '%.' || own_domains.domain
),

without_session_id as (
    select
        event_id,
        user_pseudo_id,
        event_at,
        lag(event_at) over (partition by user_pseudo_id order by event_at, event_id) as previous_event_at
    from web_events
    where ga_session_id is null
),

session_starts as (
    select
        event_id,
        user_pseudo_id,
        event_at,
        case
            when previous_event_at is null
                or event_at > {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'previous_event_at') }}
                then 1
            else 0
        end as starts_session
    from without_session_id
),

numbered as (
    select
        event_id,
        user_pseudo_id,
        event_at,
        sum(starts_session) over (
            partition by user_pseudo_id
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts
),

inferred_sessions as (
    select
        event_id,
        user_pseudo_id,
        min(event_at) over (partition by user_pseudo_id, session_number) as session_start_at
    from numbered
),

final as (
    select
        web_events.event_id,
        coalesce(
            web_events.user_pseudo_id || ':' || cast(web_events.ga_session_id as {{ sql_type('varchar') }}),
            inferred_sessions.user_pseudo_id || ':t'
            || cast(cast(floor({{ epoch_seconds("inferred_sessions.session_start_at") }}) as bigint) as {{ sql_type('varchar') }})
        ) as session_key,
        web_events.user_pseudo_id,
        web_events.ga_session_id,
        web_events.event_name,
        web_events.event_at,
        web_events.page_path,
        web_events.engagement_seconds,
        web_events.source,
        web_events.medium,
        web_events.campaign,
        web_events.tags_from,
        web_events.gclid,
        web_events.dclid,
        web_events.gbraid,
        web_events.wbraid,
        web_events.srsltid,
        web_events.last_click_source,
        web_events.last_click_medium,
        web_events.last_click_campaign,
        web_events.first_user_source,
        web_events.first_user_medium,
        web_events.first_user_campaign,
        -- an external referrer that is not one of the company's own domains (seed own_domains)
        case when own_referrers.event_id is null then web_events.referrer_host end as referrer_host,
        own_referrers.event_id is not null as has_own_referrer,
        -- lineage: the lake partition the event came from (the incremental runs' window)
        web_events._interval_start
    from web_events
    left join inferred_sessions
        on inferred_sessions.event_id = web_events.event_id
    left join own_referrers
        on own_referrers.event_id = web_events.event_id
)

select * from final
