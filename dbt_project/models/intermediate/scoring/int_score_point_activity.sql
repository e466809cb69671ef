{#- What a person did before each point in time of int_score_points, computed once for the rule
    engine (silence), the scores (last_activity_at) and the conversion model's features: the last
    interaction (form, page view, email open or click) at or before the point, counts in the var
    feature_window_days days before it, and the same counts over all time before it (with the
    first interaction: how long the person has been around; the last page view and the sessions of
    the last 14 days: how recent and deep the visits are). Every point has a row (null / 0
    when nothing happened). -#}
{#- the counts by event type, over the window and over all time, and every count column in order -#}
{%- set counted = {
    'page_views': 'page_view', 'email_opens': 'email_open', 'email_clicks': 'email_click', 'forms': 'form_submitted'
} %}
{%- set counts = [
    'sessions_14d', 'page_views', 'pricing_seconds', 'email_opens', 'email_clicks', 'forms', 'sessions',
    'page_views_all', 'engagement_seconds_all', 'distinct_pages_all', 'email_opens_all', 'email_clicks_all',
    'forms_all', 'sessions_all',
] %}
with

score_points as (
    select * from {{ ref('int_score_points') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
    where is_interaction
),

activity as (
    select
        score_points.person_id,
        score_points.score_point,
        max(events.event_at) as last_activity_at,
        min(events.event_at) as first_activity_at,
        {%- for column, event_type in counted.items() %}
        sum(case when events.event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }}_all,
        {%- endfor %}
        sum(case when events.event_type = 'page_view' then coalesce(events.engagement_seconds, 0) else 0 end)
            as engagement_seconds_all,
        count(distinct case when events.event_type = 'page_view' then events.page_path end) as distinct_pages_all,
        count(distinct events.session_key) as sessions_all,
        max(case when events.event_type = 'page_view' then events.event_at end) as last_page_view_at,
        count(distinct case
            when events.event_at > {{ dbt.dateadd('day', -14, 'score_points.as_of_at') }} then events.session_key
        end) as sessions_14d,
        {%- set recent = "events.event_at > " ~ dbt.dateadd('day', -var('feature_window_days'), 'score_points.as_of_at') %}
        {%- for column, event_type in counted.items() %}
        sum(case when {{ recent }} and events.event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }},
        {%- endfor %}
        sum(
            case when {{ recent }} and events.event_type = 'page_view' and events.page_path like '/pricing%'
                then coalesce(events.engagement_seconds, 0) else 0 end
        ) as pricing_seconds,
        count(distinct case when {{ recent }} then events.session_key end) as sessions
    from score_points
    inner join events
        on events.person_id = score_points.person_id
        and events.event_at <= score_points.as_of_at
    group by 1, 2
),

final as (
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        activity.last_activity_at,
        activity.first_activity_at,
        activity.last_page_view_at,
        {%- for column in counts %}
        coalesce(activity.{{ column }}, 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from score_points
    left join activity
        on activity.person_id = score_points.person_id
        and activity.score_point = score_points.score_point
)

select * from final
