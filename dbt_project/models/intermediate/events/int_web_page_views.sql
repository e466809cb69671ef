{#- One row per GA4 page_view (int_web_session_events) with the page's engaged seconds in its
    session: the web part of int_events_unified before a person is attached. GA4 reports a page's
    engaged time on its user_engagement events (page_view only carries the time spent before it);
    page_view values are the fallback for exports without them.

    Incremental per browser (docs/incremental.md), as the web session models: unique key
    user_pseudo_id, no lookback of its own (a browser with an event in the partitions the run read,
    lookback_days included, is recomputed from all its events), and every rule here looks only at one
    session, so at one browser. A browser that lost events to retention (a partition the lake no
    longer has) is recomputed too; one left with none loses its rows in the post_hook. No person_id:
    identity may move any page view to another person on any day, so int_events_unified attaches it
    on every build. Full refresh: as the web session models. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='user_pseudo_id',
    incremental_strategy='delete+insert',
    post_hook="{{ delete_rows_of_vanished_partitions(ref('int_web_session_events')) }}",
) }}

with

{%- if is_incremental() %}

{{ touched_browsers_of_partitions(ref('int_web_session_events')) }}

{%- endif %}

web_events as (
    {{ rows_of_touched_browsers(ref('int_web_session_events'), is_incremental()) }}
),

page_engagement as (
    select
        session_key,
        page_path,
        coalesce(
            sum(case when event_name = 'user_engagement' then engagement_seconds end),
            sum(case when event_name = 'page_view' then engagement_seconds end)
        ) as engagement_seconds
    from web_events
    where event_name in ('page_view', 'user_engagement')
    group by session_key, page_path
),

final as (
    select
        -- ids
        web_events.event_id,
        web_events.user_pseudo_id,
        web_events.session_key,
        -- timestamps
        web_events.event_at,
        web_events._interval_start,
        -- page
        web_events.page_path,
        page_engagement.engagement_seconds,
        -- traffic
        web_events.source,
        web_events.medium,
        web_events.campaign,
        web_events.gclid,
        web_events.referrer_host
    -- this model's own joins (on session_key): a join chain alike in shape only to other models', other relations
    from web_events
    left join page_engagement
        on page_engagement.session_key = web_events.session_key
        and page_engagement.page_path = web_events.page_path
    where web_events.event_name = 'page_view'
)

select * from final
