{#- SendGrid events, one row per sg_event_id and event type (the first copy: macro first_copy), typed.
    Incremental as stg_web__events is (docs/incremental.md): a daily run reads only the lake
    partitions of its window (macros/incremental.sql), first removes the rows those partitions gave
    before (pre_hook), then merges their events on the id; an event already stored from an older
    partition keeps that copy, as a full build would keep it. An event under an id that a stored event
    already holds comes after it: it is numbered after it, as a full build numbers every copy of an id.
    Known gap: a stored event of a partition newer than the window (a backfill of an old day, a
    partition delivered late for it) is kept where a full build takes the window's older copy
    (docs/incremental.md). -#}
{{ lake_staging_config('email', 'email_events', unique_key='sg_event_id') }}

with

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('email', 'email_events') }}
),

deduplicated as (
    -- SendGrid retries webhook posts: the same event can arrive twice, keep the first copy.
    -- The key is the id and the event type, so that a consent event (unsubscribe, spam report,
    -- bounce) arriving under an id another event already has is never lost to the dedup
    {{ first_copy('source', ['sg_event_id', 'event']) }}
),

new_events as (
    -- an event (id and type) already stored from a partition outside the window keeps that copy; it
    -- is stored under the id itself or, not the first under it, under `<id>:<event>`
    select deduplicated.*
    from deduplicated
    {%- if is_incremental() %}
    -- two anti-joins on equality, not one on an OR (which DuckDB would compare pair by pair)
    where not exists (
        select 1
        from {{ this }} as stored
        where stored.sendgrid_event = deduplicated.event
            and stored.sg_event_id = deduplicated.sg_event_id
    )
        and not exists (
            select 1
            from {{ this }} as stored
            where stored.sendgrid_event = deduplicated.event
                and stored.sg_event_id = deduplicated.sg_event_id || ':' || deduplicated.event
        )
    {%- endif %}
),

numbered as (
    select
        new_events.*,
        row_number() over (
            partition by sg_event_id
            order by {{ first_copy_order() | join(', ') }}
        )
        {%- if is_incremental() %}
        -- the first event under an id holds the id itself: when it is stored (from a partition
        -- outside the window, loaded before this run's), every new event comes after it
        + case when exists (
            select 1 from {{ this }} as stored where stored.sg_event_id = new_events.sg_event_id
        ) then 1 else 0 end
        {%- endif %} as id_use
    from new_events
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
