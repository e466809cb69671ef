with

source as (
    select * from {{ source('email', 'email_events') }}
),

deduplicated as (
    -- SendGrid retries webhook posts: the same event can arrive twice, keep the first loaded copy.
    -- The key is the id and the event type, so that a consent event (unsubscribe, spam report,
    -- bounce) arriving under an id another event already has is never lost to the dedup
    {{ first_copy('source', ['sg_event_id', 'event']) }}
),

numbered as (
    select
        deduplicated.*,
        row_number() over (
            partition by sg_event_id
            order by _loaded_at, _source_file, _row_number
        ) as id_use
    from deduplicated
),

renamed as (
    select
        -- ids: the first event loaded under an id keeps it; another event type under the same id
        -- gets `<id>:<event>`, so the id stays unique and the first event's id never changes
        case when id_use = 1 then sg_event_id else sg_event_id || ':' || event end as sg_event_id,
        sg_message_id,
        nullif(trim(marketing_campaign_id), '') as marketing_campaign_id,

        -- event
        event as sendgrid_event,
        case event
            when 'open' then 'email_open'
            when 'click' then 'email_click'
            when 'bounce' then 'email_bounce'
            when 'unsubscribe' then 'email_unsubscribe'
            when 'group_unsubscribe' then 'email_unsubscribe'
            when 'group_resubscribe' then 'email_resubscribe'
            when 'spamreport' then 'email_spamreport'
            -- processed, deferred, delivered, dropped: delivery plumbing, not behaviour
        end as event_type,
        -- a "blocked" bounce is the receiving server refusing this message, the mailbox exists
        (event = 'bounce' and coalesce(bounce_type, 'bounce') <> 'blocked') as is_hard_bounce,
        bounce_type,
        reason,
        status,
        nullif(trim(url), '') as url,
        categories,

        -- person
        email,
        useragent,
        ip,

        -- timestamps
        event_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from numbered
)

select * from renamed
