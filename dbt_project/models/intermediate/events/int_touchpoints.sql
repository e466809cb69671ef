{#- Marketing touches for attribution, one row per touch: the first page view of each web session
    (its UTM tags, gclid or referrer give the channel), every email click (Email) and every form
    submission (the channel its lead_source maps to in the seed lead_source_channels). -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

lead_source_channels as (
    select * from {{ ref('lead_source_channels') }}
),

session_pages as (
    select
        events.*,
        row_number() over (
            partition by events.session_key
            order by events.event_at, events.event_id
        ) as page_number
    from events
    where events.event_type = 'page_view'
),

web_touches as (
    -- a session's landing page carries its traffic source
    select
        person_id,
        event_at as touched_at,
        'web_session' as touch_type,
        {{ channel_group('utm_source', 'utm_medium', 'gclid', 'referrer_host') }} as channel,
        event_id
    from session_pages
    where page_number = 1
),

email_touches as (
    select
        person_id,
        event_at as touched_at,
        'email_click' as touch_type,
        'Email' as channel,
        event_id
    from events
    where event_type = 'email_click'
),

form_touches as (
    select
        events.person_id,
        events.event_at as touched_at,
        'form' as touch_type,
        case
            when events.lead_source is null then 'Direct'
            else coalesce(lead_source_channels.channel, 'Other')
        end as channel,
        events.event_id
    from events
    left join lead_source_channels
        on lower(events.lead_source) = lead_source_channels.lead_source
    where events.event_type = 'form_submitted'
),

final as (
    select * from web_touches
    union all
    select * from email_touches
    union all
    select * from form_touches
)

select * from final
