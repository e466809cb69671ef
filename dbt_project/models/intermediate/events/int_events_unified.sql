{#- One behaviour event stream over all sources, each event attributed to a person.
    event_type: form_submitted, page_view, email_open, email_click, email_bounce (hard bounces only),
    email_unsubscribe, email_resubscribe, email_spamreport, opportunity_created, opportunity_won,
    order_placed. Email events to blocklisted (shared) addresses belong to nobody and are left out.
    CRM events carry their amount in the reporting currency (amount_reporting, macros/currency.sql):
    currency is the ISO code, var default_currency when the CRM exported none; is_rate_missing
    flags a code the seed currency_rates has no rate for (amount_reporting null then). -#}
{#- Each event kind gives its columns of the stream; macros/events.sql holds the one column list and
    fills a typed null where a kind has none, so the kinds union by position. -#}
{#- Incremental (docs/incremental.md, "Events and journeys"). A stored event's row is a function of its
    staging row, the persons of its nodes and the currency rule; a daily run computes again only the
    events whose inputs can have changed since the run before:
      * page views of the browsers int_web_page_views recomputed (an event in the window's partitions,
        or a page view lost to a purged partition) and of the browsers whose web node changed person;
      * form submissions and email events staging wrote in this run (the window's partitions) and
        those with a node that changed person (macro events_recompute_scope: every node's person is
        compared with the one this model attached last time, kept in `<this>__nodes`);
      * CRM events of the opportunities and orders whose staging row's hash differs from the one kept
        in `<this>__crm` (a new version, an older one back after a purge, a record gone) and of those
        with a node that changed person (the same macro).
    The pre_hook deletes the events computed again and those whose staging row is gone (a purge); the
    post_hook the page views that are gone. A change of the currency rule (var default_currency, seed
    currency_rates: the fingerprint) or a run without the kept state computes every event. Whether the
    run computes part of the model is decided once, here (events_unified_recompute); the hooks read
    that decision. -#}
-- depends_on: {{ ref('int_web_session_events') }}
-- depends_on: {{ ref('currency_rates') }}
{{ config(
    materialized=incremental_or_table(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ delete_events_recomputed(ref('stg_forms__submissions'), ref('stg_email__events')) }}",
    post_hook=[
        "{{ delete_page_views_gone(ref('int_web_page_views'), ref('int_people_resolved')) }}",
        "{{ events_unified_kept_state(ref('int_people_resolved'), ref('stg_crm__opportunities'), ref('stg_crm__orders')) }}",
    ],
) }}

{%- set recompute = events_unified_recompute() -%}
{%- if recompute -%}
    {%- do events_recompute_scope(ref('int_people_resolved'), ref('stg_forms__submissions'), ref('stg_email__events'),
        ref('stg_crm__opportunities'), ref('stg_crm__orders')) -%}
{%- endif %}

with
-- a daily run's scope: this model's own inputs narrowed to what the day changed (the shape repeats, the keys differ)

forms as (
    select * from {{ ref('stg_forms__submissions') }}
    {%- if recompute %}
    where submission_key in (select submission_key from {{ identity_scratch('forms_touched') }})
    {%- endif %}
),

{%- if recompute %}

recomputed_browsers as (
    -- int_web_page_views recomputed these: an event in the window's partitions
    {{ browsers_in_window(ref('int_web_session_events')) }}
    union
    -- ... or a page view it no longer has (a purged partition)
    select {{ browser_of_session('stored.session_key') }}
    from {{ this }} as stored
    where stored.source = 'web'
        and stored.event_id not in (select 'web:' || event_id from {{ ref('int_web_page_views') }})
    union
    -- the browser's node changed person since the last run (a merge, a split, new)
    select substring(node_key from position(':' in node_key) + 1)
    from {{ identity_scratch('nodes_changed') }}
    where node_key like 'web:%'
),

{%- endif %}

web_page_views as (
    -- GA4 page views with their session and the page's engaged seconds (int_web_page_views:
    -- incremental per browser, docs/incremental.md); the person is attached here
    {{ rows_of_touched_browsers(ref('int_web_page_views'), recompute, 'recomputed_browsers') }}
),

email_events as (
    -- the node key computed here, not in the join's ON clause: DuckDB 2.0 planned the join on the
    -- canonical-email expression as a comparison of every pair (34 s against 0.2 s for the 2,000-
    -- person sample's 29,771 email events; docs/incremental.md, "Measured")
    select
        stg_email__events.*,
        {{ node_key('email', 'stg_email__events.email') }} as email_node_key
    from {{ ref('stg_email__events') }} as stg_email__events
    {%- if recompute %}
    where stg_email__events.sg_event_id in (select sg_event_id from {{ identity_scratch('email_touched') }})
    {%- endif %}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
    {%- if recompute %}
    where opportunity_id in (select record_id from {{ identity_scratch('crm_touched') }} where record_type = 'opportunity')
    {%- endif %}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
    {%- if recompute %}
    where order_id in (select record_id from {{ identity_scratch('crm_touched') }} where record_type = 'order')
    {%- endif %}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

form_events as (
    -- person_id: any identifier of the submission finds its person; all of them lead to the same one
    select
        {{- event_stream_select({
            'event_id': "'forms:' || forms.submission_key",
            'person_id': 'coalesce(by_email.person_id, by_phone.person_id, by_client.person_id, by_record.person_id)',
            'event_at': 'forms.submitted_at',
            'source': "'forms'",
            'event_type': "'form_submitted'",
            'form_type': 'forms.form_type',
            'lead_source': 'forms.lead_source',
        }) }}
    from forms
    left join people_nodes as by_email
        on by_email.node_key = {{ node_key('email', 'forms.email') }}
    left join people_nodes as by_phone
        on by_phone.node_key = {{ node_key('phone', 'forms.phone') }}
    left join people_nodes as by_client
        on by_client.node_key = {{ node_key('web', 'forms.client_id') }}
    left join people_nodes as by_record
        on by_record.node_key = {{ node_key('form', 'forms.submission_key') }}
),

page_views as (
    select
        {{- event_stream_select({
            'event_id': "'web:' || web_page_views.event_id",
            'person_id': 'people_nodes.person_id',
            'event_at': 'web_page_views.event_at',
            'source': "'web'",
            'event_type': "'page_view'",
            'page_path': 'web_page_views.page_path',
            'engagement_seconds': 'web_page_views.engagement_seconds',
            'session_key': 'web_page_views.session_key',
            'utm_source': 'web_page_views.source',
            'utm_medium': 'web_page_views.medium',
            'utm_campaign': 'web_page_views.campaign',
            'gclid': 'web_page_views.gclid',
            'referrer_host': 'web_page_views.referrer_host',
        }) }}
    from web_page_views
    inner join people_nodes
        on people_nodes.node_key = {{ node_key('web', 'web_page_views.user_pseudo_id') }}
),

mail_events as (
    select
        {{- event_stream_select({
            'event_id': "'email:' || email_events.sg_event_id",
            'person_id': 'people_nodes.person_id',
            'event_at': 'email_events.event_at',
            'source': "'email'",
            'event_type': 'email_events.event_type',
            'page_path': 'case when email_events.url is not null then ' ~ url_path('email_events.url') ~ ' end',
        }) }}
    from email_events
    inner join people_nodes
        on people_nodes.node_key = email_events.email_node_key
    where email_events.event_type is not null
        and (email_events.event_type <> 'email_bounce' or email_events.is_hard_bounce)
),

opportunity_events as (
    select
        'crm:' || opportunities.opportunity_id || ':created' as event_id,
        people_nodes.person_id,
        opportunities.created_at as event_at,
        'crm' as source,
        'opportunity_created' as event_type,
        opportunities.amount,
        opportunities.currency
    from opportunities
    {{ join_lead_person('opportunities.lead_id') }}

    union all

    select
        'crm:' || opportunities.opportunity_id || ':won',
        people_nodes.person_id,
        coalesce(opportunities.closed_at, opportunities.created_at),
        'crm',
        'opportunity_won',
        opportunities.amount,
        opportunities.currency
    from opportunities
    {{ join_lead_person('opportunities.lead_id') }}
    where opportunities.is_won
),

order_events as (
    select
        'crm:' || orders.order_id || ':order' as event_id,
        coalesce(by_lead.person_id, by_email.person_id) as person_id,
        orders.ordered_at as event_at,
        'crm' as source,
        'order_placed' as event_type,
        orders.amount,
        orders.currency
    from orders
    {{ join_lead_person('orders.lead_id', nodes='by_lead', how='left', relation='people_nodes') }}
    left join people_nodes as by_email
        on by_email.node_key = {{ node_key('email', 'orders.email') }}
),

deals as (
    select * from opportunity_events
    union all
    select * from order_events
),

deals_converted as (
    -- the one currency rule (macros/currency.sql): a missing currency is var default_currency, a
    -- code without a rate stays unconverted and flagged
    {{ with_reporting_currency('deals') }}
),

crm_events as (
    select
        {{- event_stream_select({
            'event_id': 'event_id',
            'person_id': 'person_id',
            'event_at': 'event_at',
            'source': 'source',
            'event_type': 'event_type',
            'amount': 'amount',
            'currency': 'currency_code',
            'amount_reporting': 'amount_reporting',
            'is_rate_missing': 'is_rate_missing',
        }) }}
    from deals_converted
),

unioned as (
    select * from form_events
    union all
    select * from page_views
    union all
    select * from mail_events
    union all
    select * from crm_events
),

final as (
    select
        unioned.*,
        -- what the person did themselves: the silence rule and last_activity_at look at these
        event_type in ('form_submitted', 'page_view', 'email_open', 'email_click') as is_interaction
    from unioned
    where person_id is not null
)

select * from final
