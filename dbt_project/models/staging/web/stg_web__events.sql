with

source as (
    select * from {{ source('web', 'web_events') }}
),

deduplicated as (
    -- event_id is the hash of the exported line: the same line exported twice is one event
    {{ first_copy('source', ['event_id']) }}
),

parsed as (
    select
        deduplicated.*,
        {{ url_path('page_location') }} as page_path,
        {{ url_host('page_location') }} as page_host,
        {{ url_host('page_referrer') }} as referrer_host_any
    from deduplicated
    -- GA4 consent mode: an event sent with analytics_storage denied (a cookieless ping) is never a
    -- person's; it is counted only in aggregate (stg_web__consent_denied_events, marts.web_consent_daily)
    where coalesce(analytics_storage, '') <> 'No'
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
        page_referrer,
        -- only an external referrer says where a visit came from
        case when referrer_host_any <> page_host then referrer_host_any end as referrer_host,
        engagement_time_msec,
        coalesce(engagement_time_msec, 0) / 1000.0 as engagement_seconds,
        event_params,

        -- traffic (source/medium/campaign/gclid: this session's UTM tags; first_user_*: first visit)
        nullif(trim(source), '') as source,
        nullif(trim(medium), '') as medium,
        nullif(trim(campaign), '') as campaign,
        nullif(trim(gclid), '') as gclid,
        first_user_source,
        first_user_medium,
        first_user_campaign,

        -- device and place
        device_category,
        country,
        city,

        -- timestamps
        event_date,
        event_at,

        -- lineage
        _source_file,
        _row_number,
        _loaded_at,
        _batch_id,
        _interval_start
    from parsed
)

select * from renamed
