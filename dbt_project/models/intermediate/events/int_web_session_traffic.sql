{#- One row per web session (int_web_session_events): where it came from, as GA4 reports a
    session's source, medium, campaign and default channel group (docs/channels.md has the rules and
    the cases, tests/web/ga4_session_cases.yml).

    A session's own traffic: its first event that carries any (UTM tags from collected_traffic_source,
    else the page URL's utm_*, else the event params source / medium / campaign; a click id GA4
    knows; an external referrer not on the company's own domains), whole. UTM tags win, filled by the
    click id where they lack source or medium: gclid, gbraid or wbraid (Google Ads auto-tagging,
    which also makes the channel Paid Search whatever the tags say: default_channel_group) is
    google / cpc, dclid (Campaign Manager / Display & Video 360) dfa / cpm, srsltid (Merchant
    Center listings) google / organic. Otherwise the referrer host without "www." / referral.

    The session's traffic (source_origin):
      ga4_last_click    the export has session_traffic_source_last_click (GA4's own answer): it;
      session           else its own traffic, unless it is tagged (direct) / (none);
      previous_session  else (a direct session) the own traffic of the same browser's
                        (user_pseudo_id) last session with own traffic that started at most
                        var ga4_lookback_days (90) before it: GA4's last non-direct click;
      direct            else (direct) / (none).
    attributed_session_key: the session whose traffic is credited.
    First user: traffic_source (first_user_*) of the browser's first event that has it, else the
    traffic of its first session; first_user_default_channel_group is its channel group.
    Incremental per session (docs/incremental.md, "Web sessions per touched session"): every rule above
    looks only at one user_pseudo_id's sessions, and a session's own part (its start, events, own traffic,
    GA4 last click, first event with first-user traffic) only at its own events. A daily run reads again
    the events of the sessions whose events changed (an event in the window's partitions, or another
    number of events than stored: a session sessionised again upstream, new, or shortened or gone with
    a purged partition), takes the own part of their browsers' other sessions from the stored rows
    (which keep it whole: own_*, last_click_*, first_user_event_*), and resolves the crediting and the
    first-user traffic of those browsers' every session again; it replaces their rows. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='user_pseudo_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook="{{ delete_sessions_gone(ref('int_web_session_events')) }}",
) }}

{#- A table built before it stored each session's events: that first run recomputes every browser
    (and on_schema_change adds the column), as int_web_session_events does for _interval_start. -#}
{%- set incremental_run = is_incremental()
    and 'first_user_event_id' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}

with

{%- if incremental_run %}

{{ sessions_changed(ref('int_web_session_events')) }}

session_events as (
    select *
    from {{ ref('int_web_session_events') }}
    where session_key in (select session_key from changed_sessions)
),

kept_sessions as (
    -- the touched browsers' other sessions: their own part as stored
    select stored.*
    from {{ this }} as stored
    where stored.user_pseudo_id in (select user_pseudo_id from changed_sessions)
        and stored.session_key not in (select session_key from changed_sessions)
),

{%- else %}

session_events as (
    select * from {{ ref('int_web_session_events') }}
),

{%- endif %}

flagged as (
    select
        session_events.*,
        (
            source is not null or medium is not null or campaign is not null
            or gclid is not null or gbraid is not null or wbraid is not null or dclid is not null
            or srsltid is not null
        ) as is_tagged,
        referrer_host is not null as has_referrer,
        (last_click_source is not null or last_click_medium is not null or last_click_campaign is not null)
            as has_last_click,
        first_user_source is not null or first_user_medium is not null as has_first_user
    from session_events
),

ranked as (
    select
        flagged.*,
        row_number() over (partition by session_key, is_tagged or has_referrer order by event_at, event_id)
            as traffic_rank,
        row_number() over (partition by session_key, has_referrer order by event_at, event_id) as referrer_rank,
        row_number() over (partition by session_key, has_last_click order by event_at, event_id) as last_click_rank,
        -- the session's first event with first-user traffic; the browser's is the first of its sessions'
        row_number() over (partition by session_key, has_first_user order by event_at, event_id)
            as first_user_rank
    from flagged
),

sessions as (
    select
        session_key,
        min(user_pseudo_id) as user_pseudo_id,
        min(event_at) as session_start_at,
        min(case when has_referrer and referrer_rank = 1 then referrer_host end) as referrer_host,
        -- how many events the session had when it was computed: a daily run compares it
        -- (browsers_with_changed_sessions) to find the sessions a purged partition shortened
        count(*) as events
    from ranked
    group by session_key
),

own_traffic as (
    -- the first event with traffic information, whole: its tags are never mixed with another event's
    select
        session_key,
        case
            when is_tagged then coalesce(
                source,
                case
                    when coalesce(gclid, gbraid, wbraid) is not null then 'google'
                    when dclid is not null then 'dfa'
                    when srsltid is not null then 'google'
                end
            )
            when referrer_host like 'www.%' then substr(referrer_host, 5)
            else referrer_host
        end as source,
        case
            when is_tagged then coalesce(
                medium,
                case
                    when coalesce(gclid, gbraid, wbraid) is not null then 'cpc'
                    when dclid is not null then 'cpm'
                    when srsltid is not null then 'organic'
                end
            )
            else 'referral'
        end as medium,
        case when is_tagged then campaign end as campaign,
        case when is_tagged then coalesce(gclid, gbraid, wbraid) end as ads_click_id,
        case when is_tagged then dclid end as dclid,
        case when is_tagged then srsltid end as srsltid
    from ranked
    where (is_tagged or has_referrer) and traffic_rank = 1
),

last_click as (
    select
        session_key,
        last_click_source as source,
        last_click_medium as medium,
        last_click_campaign as campaign
    from ranked
    where has_last_click and last_click_rank = 1
),

computed as (
    select
        sessions.session_key,
        sessions.user_pseudo_id,
        sessions.session_start_at,
        sessions.referrer_host,
        sessions.events,
        -- a click: own traffic that is not tagged (direct) / (none) (none without own traffic: both null)
        {{ is_own_click('own_traffic.source', 'own_traffic.medium') }} as has_own_traffic,
        own_traffic.source as own_source,
        own_traffic.medium as own_medium,
        own_traffic.campaign as own_campaign,
        own_traffic.ads_click_id as own_ads_click_id,
        own_traffic.dclid as own_dclid,
        own_traffic.srsltid as own_srsltid,
        last_click.session_key is not null as has_last_click,
        last_click.source as last_click_source,
        last_click.medium as last_click_medium,
        last_click.campaign as last_click_campaign,
        first_user_event.event_at as first_user_event_at,
        first_user_event.event_id as first_user_event_id,
        first_user_event.first_user_source as first_user_event_source,
        first_user_event.first_user_medium as first_user_event_medium,
        first_user_event.first_user_campaign as first_user_event_campaign
    from sessions
    left join own_traffic
        on own_traffic.session_key = sessions.session_key
    left join last_click
        on last_click.session_key = sessions.session_key
    left join ranked as first_user_event
        on first_user_event.session_key = sessions.session_key
        and first_user_event.has_first_user
        and first_user_event.first_user_rank = 1
),
{%- if incremental_run %}

with_own as (
    select * from computed
    union all
    -- the kept sessions' own part, as the columns below stored it
    select
        session_key,
        user_pseudo_id,
        session_start_at,
        referrer_host,
        events,
        {{ is_own_click('own_source', 'own_medium') }} as has_own_traffic,
        own_source,
        own_medium,
        own_campaign,
        own_gclid as own_ads_click_id,
        own_dclid,
        own_srsltid,
        source_origin = 'ga4_last_click' as has_last_click,
        last_click_source,
        last_click_medium,
        last_click_campaign,
        first_user_event_at,
        first_user_event_id,
        first_user_event_source,
        first_user_event_medium,
        first_user_event_campaign
    from kept_sessions
),
{%- else %}

with_own as (
    select * from computed
),
{%- endif %}

previous_non_direct as (
    -- a direct session's candidates: the same browser's earlier sessions with traffic of their own
    -- within the lookback; the latest wins
    select
        direct_sessions.session_key,
        earlier.session_key as attributed_session_key,
        row_number() over (
            partition by direct_sessions.session_key
            order by earlier.session_start_at desc, earlier.session_key desc
        ) as recency
    from with_own as direct_sessions
    inner join with_own as earlier
        on earlier.user_pseudo_id = direct_sessions.user_pseudo_id
        and earlier.has_own_traffic
        and earlier.session_start_at < direct_sessions.session_start_at
        and earlier.session_start_at
            >= {{ dbt.dateadd('day', -var('ga4_lookback_days'), 'direct_sessions.session_start_at') }}
    where not direct_sessions.has_own_traffic
        and not direct_sessions.has_last_click
),

resolved as (
    select
        with_own.session_key,
        with_own.user_pseudo_id,
        with_own.session_start_at,
        with_own.events,
        with_own.referrer_host,
        with_own.own_source,
        with_own.own_medium,
        with_own.own_campaign,
        with_own.own_ads_click_id as own_gclid,
        with_own.own_dclid,
        with_own.own_srsltid,
        with_own.last_click_source,
        with_own.last_click_medium,
        with_own.last_click_campaign,
        with_own.first_user_event_at,
        with_own.first_user_event_id,
        with_own.first_user_event_source,
        with_own.first_user_event_medium,
        with_own.first_user_event_campaign,
        case
            when with_own.has_last_click then 'ga4_last_click'
            when with_own.has_own_traffic then 'session'
            when previous.attributed_session_key is not null then 'previous_session'
            else 'direct'
        end as source_origin,
        case
            when with_own.has_last_click or with_own.has_own_traffic then with_own.session_key
            else previous.attributed_session_key
        end as attributed_session_key,
        -- one rule for each of the session's tags: GA4's last click, else its own traffic, else the
        -- previous non-direct session's
        {%- for field in ['source', 'medium', 'campaign'] %}
        case
            when with_own.has_last_click then with_own.last_click_{{ field }}
            when with_own.has_own_traffic then with_own.own_{{ field }}
            when previous.attributed_session_key is not null then earlier.own_{{ field }}
            else with_own.own_{{ field }}
        end as {{ field }},
        {%- endfor %}
        -- and for its click ids, which GA4's last click does not carry
        {%- for field, own in [('gclid', 'own_ads_click_id'), ('dclid', 'own_dclid'), ('srsltid', 'own_srsltid')] %}
        case
            when with_own.has_last_click then null
            when with_own.has_own_traffic then with_own.{{ own }}
            else earlier.{{ own }}
        end as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from with_own
    left join previous_non_direct as previous
        on previous.session_key = with_own.session_key
        and previous.recency = 1
    left join with_own as earlier
        on earlier.session_key = previous.attributed_session_key
),

categorised as (
    {{ with_source_category('resolved', 'source') }}
),

first_sessions as (
    select
        user_pseudo_id,
        source,
        medium,
        campaign,
        gclid,
        row_number() over (partition by user_pseudo_id order by session_start_at, session_key) as session_number
    from resolved
),

first_users as (
    -- GA4's user-scoped traffic_source when the export has it, else the first session's traffic
    select
        first_sessions.user_pseudo_id,
        case when exported.user_pseudo_id is not null then exported.first_user_source else first_sessions.source end
            as source,
        case when exported.user_pseudo_id is not null then exported.first_user_medium else first_sessions.medium end
            as medium,
        case
            when exported.user_pseudo_id is not null then exported.first_user_campaign
            else first_sessions.campaign
        end as campaign,
        case when exported.user_pseudo_id is null then first_sessions.gclid end as gclid
    from first_sessions
    left join (
        -- the browser's first event with first-user traffic: the first of its sessions' first ones
        select
            user_pseudo_id,
            first_user_event_source as first_user_source,
            first_user_event_medium as first_user_medium,
            first_user_event_campaign as first_user_campaign,
            row_number() over (partition by user_pseudo_id order by first_user_event_at, first_user_event_id)
                as first_user_rank
        from with_own
        where first_user_event_id is not null
    ) as exported
        on exported.user_pseudo_id = first_sessions.user_pseudo_id
        and exported.first_user_rank = 1
    where first_sessions.session_number = 1
),

first_users_categorised as (
    {{ with_source_category('first_users', 'source') }}
),

final as (
    select
        categorised.session_key,
        categorised.user_pseudo_id,
        categorised.session_start_at,
        categorised.events,
        coalesce(categorised.source, '(direct)') as source,
        coalesce(categorised.medium, case when categorised.source is null then '(none)' else '(not set)' end)
            as medium,
        categorised.campaign,
        categorised.gclid,
        categorised.dclid,
        categorised.srsltid,
        categorised.referrer_host,
        categorised.source_category,
        {{ default_channel_group(
            'categorised.source', 'categorised.medium', 'categorised.campaign', 'categorised.gclid',
            'categorised.source_category'
        ) }} as default_channel_group,
        categorised.source_origin,
        categorised.attributed_session_key,
        categorised.own_source,
        categorised.own_medium,
        categorised.own_campaign,
        -- the session's own part, kept whole for a daily run that reads only other sessions' events
        categorised.own_gclid,
        categorised.own_dclid,
        categorised.own_srsltid,
        categorised.last_click_source,
        categorised.last_click_medium,
        categorised.last_click_campaign,
        categorised.first_user_event_at,
        categorised.first_user_event_id,
        categorised.first_user_event_source,
        categorised.first_user_event_medium,
        categorised.first_user_event_campaign,
        coalesce(first_users_categorised.source, '(direct)') as first_user_source,
        coalesce(
            first_users_categorised.medium,
            case when first_users_categorised.source is null then '(none)' else '(not set)' end
        ) as first_user_medium,
        first_users_categorised.campaign as first_user_campaign,
        {{ default_channel_group(
            'first_users_categorised.source', 'first_users_categorised.medium', 'first_users_categorised.campaign',
            'first_users_categorised.gclid', 'first_users_categorised.source_category'
        ) }} as first_user_default_channel_group
    from categorised
    left join first_users_categorised
        on first_users_categorised.user_pseudo_id = categorised.user_pseudo_id
)

select * from final
