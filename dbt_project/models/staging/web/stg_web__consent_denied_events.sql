{#- GA4 events sent with analytics_storage denied (consent mode's cookieless pings:
    privacy_info.analytics_storage = 'No', no user_pseudo_id), deduplicated, with only what an
    aggregate needs: the day, the event, the page path and the traffic source. No identifier of
    any kind leaves this model (not even a user_pseudo_id a ping might carry), so they can never
    reach identity resolution or a per-person mart: marts.web_consent_daily counts them.
    Incremental as stg_web__events is (docs/incremental.md). -#}
{{ lake_staging_config('web', 'web_events', unique_key='event_id') }}

with

source as (
    {{ lake_rows('web', 'web_events') }}
    where analytics_storage = 'No'
),

-- a re-exported row counts once: one rule in macros (first_copy, not_yet_stored), with this source's own key
deduplicated as (
    {{ first_copy('source', ['event_id']) }}
),

new_events as (
    -- as in stg_web__events: an event stored from a partition outside the window keeps that copy
    {{ not_yet_stored('deduplicated', 'event_id') }}
),

renamed as (
    select
        -- ids
        event_id,

        -- event
        event_name,
        {{ url_path('page_location') }} as page_path,

        -- traffic
        nullif(trim(source), '') as source,
        nullif(trim(medium), '') as medium,
        nullif(trim(campaign), '') as campaign,
        nullif(trim(gclid), '') as gclid,

        -- timestamps
        event_date,
        event_at,

        -- lineage
        _interval_start
    from new_events
)

select * from renamed
