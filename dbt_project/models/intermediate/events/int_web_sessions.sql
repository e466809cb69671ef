{#- One row per web session of the GA4 export (sessions as int_web_session_events defines them),
    with GA4's session-scoped traffic and default channel group and its engagement.
    Traffic: the session's first event that carries any (UTM source/medium/campaign, gclid or an
    external referrer) decides. Its UTM tags and gclid when it has them (a gclid without tags is
    google / cpc, as GA4 reports auto-tagged clicks); otherwise its referrer host without "www." is
    the source and referral the medium, as GA4 does; no such event at all: (direct) / (none).
    referrer_host is the session's first external referrer. Engaged, as GA4 defines it: engaged
    for more than 10 seconds (the events' engagement time), or a conversion event (var
    session_conversion_events), or at least 2 page views. -#}
with

session_events as (
    select * from {{ ref('int_web_session_events') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

flagged as (
    select
        session_events.*,
        (source is not null or medium is not null or campaign is not null or gclid is not null) as is_tagged,
        referrer_host is not null as has_referrer
    from session_events
),

ordered as (
    select
        flagged.*,
        is_tagged or has_referrer as has_traffic,
        -- the landing page: the first page view's path (the first event's when none was exported)
        row_number() over (
            partition by session_key
            order by case when event_name = 'page_view' then 0 else 1 end, event_at, event_id
        ) as landing_rank,
        row_number() over (partition by session_key, is_tagged or has_referrer order by event_at, event_id)
            as traffic_rank,
        row_number() over (partition by session_key, has_referrer order by event_at, event_id) as referrer_rank
    from flagged
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
        min(case when has_referrer and referrer_rank = 1 then referrer_host end) as referrer_host,
        count(*) as events,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        sum(coalesce(engagement_seconds, 0)) as engagement_seconds,
        max(
            case when event_name in ('{{ var("session_conversion_events") | join("', '") }}') then 1 else 0 end
        ) as has_conversion_event
    from ordered
    group by session_key
),

traffic as (
    -- the first event with traffic information, whole: its tags are never mixed with another event's
    select
        session_key,
        is_tagged,
        source,
        medium,
        campaign,
        gclid,
        referrer_host
    from ordered
    where has_traffic and traffic_rank = 1
),

session_traffic as (
    select
        aggregated.*,
        -- a Google Ads click without UTM tags is google / cpc, as GA4 reports auto-tagged clicks
        case
            when traffic.is_tagged then coalesce(traffic.source, case when traffic.gclid is not null then 'google' end)
            when traffic.referrer_host like 'www.%' then substr(traffic.referrer_host, 5)
            else traffic.referrer_host
        end as source,
        case
            when traffic.is_tagged then coalesce(traffic.medium, case when traffic.gclid is not null then 'cpc' end)
            when traffic.referrer_host is not null then 'referral'
        end as medium,
        traffic.campaign,
        traffic.gclid
    from aggregated
    left join traffic
        on traffic.session_key = aggregated.session_key
),

categorised as (
    {{ with_source_category('session_traffic', 'source') }}
),

final as (
    select
        categorised.session_key,
        categorised.user_pseudo_id,
        people_nodes.person_id,
        categorised.ga_session_id,
        categorised.session_start_at,
        categorised.session_end_at,
        categorised.landing_event_id,
        categorised.landing_page,
        coalesce(categorised.source, '(direct)') as source,
        coalesce(categorised.medium, case when categorised.source is null then '(none)' else '(not set)' end)
            as medium,
        categorised.campaign,
        categorised.gclid,
        categorised.referrer_host,
        categorised.source_category,
        {{ default_channel_group(
            'categorised.source', 'categorised.medium', 'categorised.campaign', 'categorised.gclid',
            'categorised.source_category'
        ) }} as default_channel_group,
        categorised.events,
        categorised.page_views,
        categorised.engagement_seconds,
        (
            categorised.engagement_seconds > 10
            or categorised.has_conversion_event = 1
            or categorised.page_views >= 2
        ) as is_engaged
    from categorised
    left join people_nodes
        on people_nodes.node_key = {{ node_key('web', 'categorised.user_pseudo_id') }}
)

select * from final
