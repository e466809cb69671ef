{#- GA4 consent mode in aggregate, one row per day, page and channel: the events sent with
    analytics consent (stg_web__events) and the cookieless pings sent without it
    (stg_web__consent_denied_events: privacy_info.analytics_storage = 'No'), and the consent rate.
    The only place consent-denied traffic is counted: it never reaches identity or a per-person mart.
    The channel is the event's own traffic source (GA4's default channel group of its UTM tags),
    the same rule for both, so the two counts compare.
    Incremental by event_date (docs/incremental.md, "web_consent_daily"): a date's rows depend only on
    that date's events and the source-category seeds, so a daily run recomputes (delete+insert on
    event_date) only the dates whose events differ from those the run before computed: one digest per
    date of the columns read here, kept in `<this>__inputs` (macros kept_digests_*): a new or late
    event, a partition purged or delivered again, an event changed in place or moved to another date,
    whatever its partition. Events without an event_date are a date of their own (a null event_date,
    as a full build groups them). A change of the seeds (the fingerprint) or a run without kept digests
    computes every date. A full refresh (and Spark: incremental_or_table) rebuilds every date. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='event_date',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_kept_digests_changed('event_date') }}",
    post_hook="{{ keep_kept_digests(web_consent_daily_inputs(ref('stg_web__events'),
        ref('stg_web__consent_denied_events')), web_consent_daily_fingerprint) }}",
) }}

{%- set daily = kept_state_decide(web_consent_daily_fingerprint, ['inputs']) -%}
{%- if daily -%}
    {%- do kept_digests_scope('event_date',
        web_consent_daily_inputs(ref('stg_web__events'), ref('stg_web__consent_denied_events')),
        'event dates whose events changed, computed again') -%}
{%- endif %}

with

{#- the same columns and the same daily scope from each relation, as the inputs' digest reads them -#}
{%- for name, relation, is_denied in [
    ('consented', ref('stg_web__events'), 'false'),
    ('denied', ref('stg_web__consent_denied_events'), 'true'),
] %}
{{ name }} as (
    select event_date, {{ web_consent_daily_columns() | join(', ') }}, {{ is_denied }} as is_denied
    from {{ relation }}
    {%- if daily %}
    where {{ kept_digests_changed('event_date') }}
    {%- endif %}
),
{% endfor %}

events as (
    select * from consented
    union all
    select * from denied
),

categorised as (
    {{ with_source_category('events', 'source') }}
),

channelled as (
    select
        event_date,
        coalesce(page_path, '(not set)') as page_path,
        {{ default_channel_group('source', 'medium', 'campaign', 'gclid', 'source_category') }} as channel,
        event_name,
        is_denied
    from categorised
),

final as (
    select
        cast(event_date as date) as event_date,
        cast(page_path as {{ sql_type('varchar') }}) as page_path,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(sum(case when not is_denied then 1 else 0 end) as bigint) as consented_events,
        cast(sum(case when is_denied then 1 else 0 end) as bigint) as denied_events,
        cast(sum(case when not is_denied and event_name = 'page_view' then 1 else 0 end) as bigint)
            as consented_page_views,
        cast(sum(case when is_denied and event_name = 'page_view' then 1 else 0 end) as bigint) as denied_page_views,
        cast(sum(case when not is_denied then 1 else 0 end) * 1.0 / count(*) as {{ sql_type('double precision') }}) as consent_rate
    from channelled
    group by event_date, page_path, channel
)

select * from final
