{#- Marketing touches for attribution, one row per touch, channels named as GA4's default channel
    group (macro default_channel_group):
      web_session  one per web session of a known person (int_web_sessions), at its start; its
                   channel, source, medium and campaign are the session's
      email_click  an email click: Email, source the ESP (sendgrid), medium email, campaign the
                   ESP's marketing campaign id when the export has one; not when an Email session of
                   the same person starts within var session_timeout_minutes after it (the visit the
                   click opened is the touch)
      form         every form submission (offline for the web analytics: the form tool reports it)
      crm_lead     every CRM lead, at its creation, except a lead created within var
                   lead_after_form_days (3) after a form of the same person (that form's lead)
    A form's or lead's lead_source is the source; its channel is the seed lead_source_channels'
    (lower-cased lead_source), else the default channel group of that source alone (a source in
    the seeds ga4_source_categories / channel_source_overrides, e.g. douyin: Organic Video), else
    Unassigned; no lead_source at all: Direct. -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

sessions as (
    select * from {{ ref('int_web_sessions') }}
),

email_events as (
    select * from {{ ref('stg_email__events') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

lead_source_channels as (
    select * from {{ ref('lead_source_channels') }}
),

web_touches as (
    select
        'session:' || session_key as touch_id,
        person_id,
        session_start_at as touched_at,
        'web_session' as touch_type,
        default_channel_group as channel,
        source,
        medium,
        campaign,
        'web:' || landing_event_id as event_id
    from sessions
    where person_id is not null
),

clicks_with_visit as (
    -- the visit an email click opened: an Email web session of the same person starting within
    -- var session_timeout_minutes after the click. The session is the touch (it has the landing
    -- page and the link's UTM tags), the click is not another one
    select distinct events.event_id
    from events
    inner join sessions
        on sessions.person_id = events.person_id
        and sessions.default_channel_group = 'Email'
        and sessions.session_start_at >= events.event_at
        and sessions.session_start_at <= {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'events.event_at') }}
    where events.event_type = 'email_click'
),

email_touches as (
    select
        events.event_id as touch_id,
        events.person_id,
        events.event_at as touched_at,
        'email_click' as touch_type,
        'Email' as channel,
        'sendgrid' as source,
        'email' as medium,
        email_events.marketing_campaign_id as campaign,
        events.event_id
    from events
    left join email_events
        on 'email:' || email_events.sg_event_id = events.event_id
    left join clicks_with_visit
        on clicks_with_visit.event_id = events.event_id
    where events.event_type = 'email_click'
        and clicks_with_visit.event_id is null
),

crm_leads as (
    select
        'crm:' || leads.lead_id || ':lead' as touch_id,
        people_nodes.person_id,
        leads.created_at,
        leads.lead_source
    from leads
    {{ join_lead_person('leads.lead_id') }}
    where leads.created_at is not null
),

leads_from_forms as (
    -- a lead the CRM created within var lead_after_form_days after a form of the same person is
    -- that form's lead (the CRM sync created it): the form is the touch, the lead is not another one
    select distinct crm_leads.touch_id
    from crm_leads
    inner join events
        on events.person_id = crm_leads.person_id
        and events.event_type = 'form_submitted'
        and events.event_at <= crm_leads.created_at
        and events.event_at >= {{ dbt.dateadd('day', -var('lead_after_form_days'), 'crm_leads.created_at') }}
),

offline_touches as (
    select
        event_id as touch_id,
        person_id,
        event_at as touched_at,
        'form' as touch_type,
        lead_source,
        event_id
    from events
    where event_type = 'form_submitted'

    union all

    select
        crm_leads.touch_id,
        crm_leads.person_id,
        crm_leads.created_at,
        'crm_lead',
        crm_leads.lead_source,
        crm_leads.touch_id
    from crm_leads
    left join leads_from_forms
        on leads_from_forms.touch_id = crm_leads.touch_id
    where leads_from_forms.touch_id is null
),

offline_categorised as (
    {{ with_source_category('offline_touches', 'lead_source') }}
),

offline_channels as (
    select
        offline_categorised.touch_id,
        offline_categorised.person_id,
        offline_categorised.touched_at,
        offline_categorised.touch_type,
        case
            when offline_categorised.lead_source is null then 'Direct'
            else coalesce(
                lead_source_channels.channel,
                {{ default_channel_group(
                    'offline_categorised.lead_source', "'(not set)'", 'null', source_category='offline_categorised.source_category'
                ) }}
            )
        end as channel,
        offline_categorised.lead_source as source,
        cast(null as {{ sql_type('varchar') }}) as medium,
        cast(null as {{ sql_type('varchar') }}) as campaign,
        offline_categorised.event_id
    from offline_categorised
    left join lead_source_channels
        on lower(offline_categorised.lead_source) = lead_source_channels.lead_source
),

final as (
    select * from web_touches
    union all
    select * from email_touches
    union all
    select * from offline_channels
)

select * from final
