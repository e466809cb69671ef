{#- GA4 events, one row per event_id (the first copy: macro first_copy), typed and tagged with where their
    traffic came from. Incremental (docs/incremental.md): a daily run reads only the lake partitions
    of its interval and the var lookback_days before it (macros/incremental.sql), first removes the
    rows those partitions gave before (pre_hook), then merges their events on event_id; an event
    already stored from an older partition keeps that copy, one stored from a newer partition (a
    backfill of an old day) gives way to the window's, as a full build's first_copy chooses
    (macro not_yet_stored). `dbt build --full-refresh` reads every partition. -#}
{{ lake_staging_config('web', 'web_events', unique_key='event_id') }}

with

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('web', 'web_events') }}
),

-- a re-exported row counts once: one rule in macros (first_copy, not_yet_stored), with this source's own key
deduplicated as (
    -- event_id is the hash of the exported line: the same line exported twice is one event
    {{ first_copy('source', ['event_id']) }}
),

new_events as (
    -- an event already stored from a partition outside the window keeps that copy
    {{ not_yet_stored('deduplicated', 'event_id') }}
),

parsed as (
    select
        new_events.*,
        {{ url_path('page_location') }} as page_path,
        {{ url_host('page_location') }} as page_host,
        {{ url_host('page_referrer') }} as referrer_host_any,
        -- the landing URL's UTM tags and click ids (GA4 reads them from the page URL)
        {{ url_query_param('page_location', 'utm_source') }} as url_source,
        {{ url_query_param('page_location', 'utm_medium') }} as url_medium,
        {{ url_query_param('page_location', 'utm_campaign') }} as url_campaign,
        {{ url_query_param('page_location', 'gclid') }} as url_gclid,
        {{ url_query_param('page_location', 'dclid') }} as url_dclid,
        {{ url_query_param('page_location', 'gbraid') }} as url_gbraid,
        {{ url_query_param('page_location', 'wbraid') }} as url_wbraid,
        {{ url_query_param('page_location', 'srsltid') }} as url_srsltid,
        -- source / medium / campaign sent as event parameters (gtag's campaign fields)
        {{ ga4_event_param('event_params', 'source') }} as param_source,
        {{ ga4_event_param('event_params', 'medium') }} as param_medium,
        {{ ga4_event_param('event_params', 'campaign') }} as param_campaign,
        -- GA4's last click: one documented JSON path a column (each field its own column; json_text is the one rule)
        -- GA4's own session-scoped last click (session_traffic_source_last_click, a top-level record
        -- the extract keeps in extra): its cross-channel campaign, else its manual (UTM) campaign
        {{ json_text('extra', ['session_traffic_source_last_click', 'cross_channel_campaign', 'source']) }}
            as last_click_cross_channel_source,
        {{ json_text('extra', ['session_traffic_source_last_click', 'cross_channel_campaign', 'medium']) }}
            as last_click_cross_channel_medium,
        {{ json_text('extra', ['session_traffic_source_last_click', 'cross_channel_campaign', 'campaign_name']) }}
            as last_click_cross_channel_campaign,
        {{ json_text('extra', ['session_traffic_source_last_click', 'manual_campaign', 'source']) }}
            as last_click_manual_source,
        {{ json_text('extra', ['session_traffic_source_last_click', 'manual_campaign', 'medium']) }}
            as last_click_manual_medium,
        {{ json_text('extra', ['session_traffic_source_last_click', 'manual_campaign', 'campaign_name']) }}
            as last_click_manual_campaign,
        {{ json_text('extra', ['session_traffic_source_last_click', 'google_ads_campaign', 'campaign_name']) }}
            as last_click_google_ads_campaign
    from new_events
    -- GA4 consent mode: an event sent with analytics_storage denied (a cookieless ping) is never a
    -- person's; it is counted only in aggregate (stg_web__consent_denied_events, marts.web_consent_daily)
    where coalesce(analytics_storage, '') <> 'No'
),

tagged as (
    -- where the event's UTM tags come from: the export's collected_traffic_source; when it has
    -- none, the page URL's utm_* parameters; then the event parameters source / medium / campaign.
    -- One origin gives all three, never mixed.
    select
        parsed.*,
        case
            when coalesce(nullif(trim(source), ''), nullif(trim(medium), ''), nullif(trim(campaign), '')) is not null
                then 'collected_traffic_source'
            when coalesce(url_source, url_medium, url_campaign) is not null then 'page_location'
            when coalesce(param_source, param_medium, param_campaign) is not null then 'event_params'
        end as tags_from
    from parsed
),

renamed as (
    select
        -- ids
        event_id,
        user_pseudo_id,
        nullif(trim(user_id), '') as user_id,
        ga_session_id,

        -- event
        event_name,
        page_location,
        page_path,
        page_title,
        page_host,
        page_referrer,
        -- only an external referrer says where a visit came from (own_domains: int_web_session_events)
        case when referrer_host_any <> page_host then referrer_host_any end as referrer_host,
        engagement_time_msec,
        coalesce(engagement_time_msec, 0) / 1000.0 as engagement_seconds,
        event_params,

        -- traffic: the event's UTM tags from one origin (tags_from), the click ids GA4 knows, GA4's
        -- session last click when the export has it; first_user_*: the user's first visit
        case tags_from
            when 'collected_traffic_source' then nullif(trim(source), '')
            when 'page_location' then url_source
            when 'event_params' then param_source
        end as source,
        case tags_from
            when 'collected_traffic_source' then nullif(trim(medium), '')
            when 'page_location' then url_medium
            when 'event_params' then param_medium
        end as medium,
        case tags_from
            when 'collected_traffic_source' then nullif(trim(campaign), '')
            when 'page_location' then url_campaign
            when 'event_params' then param_campaign
        end as campaign,
        tags_from,
        coalesce(nullif(trim(gclid), ''), url_gclid) as gclid,
        url_dclid as dclid,
        url_gbraid as gbraid,
        url_wbraid as wbraid,
        url_srsltid as srsltid,
        case when last_click_cross_channel_source is not null then last_click_cross_channel_source
            else last_click_manual_source end as last_click_source,
        case when last_click_cross_channel_source is not null then last_click_cross_channel_medium
            else last_click_manual_medium end as last_click_medium,
        coalesce(
            case when last_click_cross_channel_source is not null then last_click_cross_channel_campaign
                else last_click_manual_campaign end,
            last_click_google_ads_campaign
        ) as last_click_campaign,
        nullif(trim(first_user_source), '') as first_user_source,
        nullif(trim(first_user_medium), '') as first_user_medium,
        nullif(trim(first_user_campaign), '') as first_user_campaign,

        -- device and place
        device_category,
        country,
        city,

        -- timestamps
        event_date,
        event_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from tagged
)

select * from renamed
