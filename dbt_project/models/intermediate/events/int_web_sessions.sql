{#- One row per web session of the GA4 export (sessions as int_web_session_events defines them),
    with GA4's session-scoped traffic and default channel group (int_web_session_traffic: the
    session's own traffic, GA4's session last click when the export has it, else the browser's last
    non-direct click within var ga4_lookback_days; source_origin says which), the first-user
    traffic and channel group, and the engagement. referrer_host is the session's first external
    referrer (not one of the company's own domains, seed own_domains). Engaged, as GA4 defines it:
    engaged for more than 10 seconds (the events' engagement time), or a conversion event (var
    session_conversion_events), or at least 2 page views.
    Incremental per browser (docs/incremental.md): a session's row is its events (per browser,
    int_web_session_events), its traffic (per browser, int_web_session_traffic) and its browser's
    person. A daily run recomputes the browsers whose rows can differ from what a full build makes:
    those with an event in the window's partitions (both upstream models recomputed them), those
    with a stored session whose events are gone or fewer (a purged partition), and those whose
    stored person is not the browser's person now (a merge, a split, a node cut); it replaces their
    rows. The post_hook removes the sessions int_web_session_traffic no longer has. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='user_pseudo_id',
    incremental_strategy='delete+insert',
    post_hook="{{ delete_sessions_gone(ref('int_web_session_traffic')) }}",
) }}

with

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

{%- if is_incremental() %}

recomputed_browsers as (
    -- an event in the window's partitions: their sessions and traffic were recomputed upstream
    {{ browsers_in_window(ref('int_web_session_events')) }}
    union
    -- a stored session that lost events or is gone (retention purged a partition)
    {{ browsers_with_changed_sessions(ref('int_web_session_events')) }}
    union
    -- the browser's person changed (a merge, a split) or its node left the graph
    select stored.user_pseudo_id
    from {{ this }} as stored
    left join people_nodes
        on people_nodes.node_key = {{ node_key('web', 'stored.user_pseudo_id') }}
    where people_nodes.person_id is distinct from stored.person_id
),

{%- endif %}

session_events as (
    {{ rows_of_touched_browsers(ref('int_web_session_events'), is_incremental(), 'recomputed_browsers') }}
),

session_traffic as (
    select * from {{ ref('int_web_session_traffic') }}
),

ordered as (
    select
        session_events.*,
        -- the landing page: the first page view's path (the first event's when none was exported)
        row_number() over (
            partition by session_key
            order by case when event_name = 'page_view' then 0 else 1 end, event_at, event_id
        ) as landing_rank
    from session_events
),

aggregated as (
    select
        session_key,
        min(user_pseudo_id) as user_pseudo_id,
        min(ga_session_id) as ga_session_id,
        min(event_at) as session_start_at,
        max(event_at) as session_end_at,
        min(case when landing_rank = 1 then event_id end) as landing_event_id,
        min(case when landing_rank = 1 then page_path end) as landing_page,
        count(*) as events,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        sum(coalesce(engagement_seconds, 0)) as engagement_seconds,
        max(
            case when event_name in ('{{ var("session_conversion_events") | join("', '") }}') then 1 else 0 end
        ) as has_conversion_event
    from ordered
    group by session_key
),

final as (
    select
        aggregated.session_key,
        aggregated.user_pseudo_id,
        people_nodes.person_id,
        aggregated.ga_session_id,
        aggregated.session_start_at,
        aggregated.session_end_at,
        aggregated.landing_event_id,
        aggregated.landing_page,
        session_traffic.source,
        session_traffic.medium,
        session_traffic.campaign,
        session_traffic.gclid,
        session_traffic.dclid,
        session_traffic.srsltid,
        session_traffic.referrer_host,
        session_traffic.source_category,
        session_traffic.default_channel_group,
        session_traffic.source_origin,
        session_traffic.attributed_session_key,
        session_traffic.first_user_source,
        session_traffic.first_user_medium,
        session_traffic.first_user_campaign,
        session_traffic.first_user_default_channel_group,
        aggregated.events,
        aggregated.page_views,
        aggregated.engagement_seconds,
        (
            aggregated.engagement_seconds > 10
            or aggregated.has_conversion_event = 1
            or aggregated.page_views >= 2
        ) as is_engaged
    from aggregated
    inner join session_traffic
        on session_traffic.session_key = aggregated.session_key
    left join people_nodes
        on people_nodes.node_key = {{ node_key('web', 'aggregated.user_pseudo_id') }}
)

select * from final
