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

seen as (
    -- every interaction of the person at or before the point, once per point
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        events.event_at,
        events.event_type,
        events.page_path,
        events.engagement_seconds,
        events.session_key
    -- this model's own joins (on person_id): a join chain alike in shape only to other models', other relations
    from score_points
    inner join events
        on events.person_id = score_points.person_id
        and events.event_at <= score_points.as_of_at
),

{%- set recent = dbt.dateadd('day', -var('feature_window_days'), 'as_of_at') %}

counts as (
    select
        person_id,
        score_point,
        max(event_at) as last_activity_at,
        min(event_at) as first_activity_at,
        {%- for column, event_type in counted.items() %}
        sum(case when event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }}_all,
        {%- endfor %}
        {{ exact_sum("case when event_type = 'page_view' then coalesce(engagement_seconds, 0) else 0 end") }}
            as engagement_seconds_all,
        max(case when event_type = 'page_view' then event_at end) as last_page_view_at,
        {%- for column, event_type in counted.items() %}
        sum(case when event_at > {{ recent }} and event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }},
        {%- endfor %}
        {{ exact_sum(
            "case when event_at > " ~ recent ~ " and event_type = 'page_view' and page_path like '/pricing%'
                then coalesce(engagement_seconds, 0) else 0 end"
        ) }} as pricing_seconds
    from seen
    group by 1, 2
),

sessions as (
    -- one row per point and session, with its last event before the point: the distinct session
    -- counts become plain counts (a session has an event in a window when its last one lies in it),
    -- cheaper than count(distinct) per point
    select
        person_id,
        score_point,
        as_of_at,
        session_key,
        max(event_at) as last_at
    from seen
    where session_key is not null
    group by 1, 2, 3, 4
),

session_counts as (
    select
        person_id,
        score_point,
        count(*) as sessions_all,
        count(case when last_at > {{ dbt.dateadd('day', -14, 'as_of_at') }} then 1 end) as sessions_14d,
        count(case when last_at > {{ recent }} then 1 end) as sessions
    from sessions
    group by 1, 2
),

pages as (
    select
        person_id,
        score_point,
        count(distinct page_path) as distinct_pages_all
    from seen
    where event_type = 'page_view'
    group by 1, 2
),

activity as (
    select
        counts.*,
        coalesce(session_counts.sessions_all, 0) as sessions_all,
        coalesce(session_counts.sessions_14d, 0) as sessions_14d,
        coalesce(session_counts.sessions, 0) as sessions,
        coalesce(pages.distinct_pages_all, 0) as distinct_pages_all
    -- this model's own joins (on person_id): a join chain alike in shape only to other models', other relations
    from counts
    left join session_counts
        on session_counts.person_id = counts.person_id
        and session_counts.score_point = counts.score_point
    left join pages
        on pages.person_id = counts.person_id
        and pages.score_point = counts.score_point
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
