{#- What a person did before each point in time of int_score_points, computed once for the rule
    engine (silence), the scores (last_activity_at) and the conversion model's features: the last
    interaction (form, page view, email open or click) at or before the point, counts in the var
    feature_window_days days before it, and the same counts over all time before it (with the
    first interaction: how long the person has been around; the last page view and the sessions of
    the last 14 days: how recent and deep the visits are). Every point has a row (null / 0
    when nothing happened). -#}
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
        sum(case when events.event_type = 'page_view' then 1 else 0 end) as page_views_all,
        sum(case when events.event_type = 'page_view' then coalesce(events.engagement_seconds, 0) else 0 end)
            as engagement_seconds_all,
        count(distinct case when events.event_type = 'page_view' then events.page_path end) as distinct_pages_all,
        sum(case when events.event_type = 'email_open' then 1 else 0 end) as email_opens_all,
        sum(case when events.event_type = 'email_click' then 1 else 0 end) as email_clicks_all,
        sum(case when events.event_type = 'form_submitted' then 1 else 0 end) as forms_all,
        count(distinct events.session_key) as sessions_all,
        max(case when events.event_type = 'page_view' then events.event_at end) as last_page_view_at,
        count(distinct case
            when events.event_at > {{ dbt.dateadd('day', -14, 'score_points.as_of_at') }} then events.session_key
        end) as sessions_14d,
        {%- set recent = "events.event_at > " ~ dbt.dateadd('day', -var('feature_window_days'), 'score_points.as_of_at') %}
        sum(case when {{ recent }} and events.event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(
            case when {{ recent }} and events.event_type = 'page_view' and events.page_path like '/pricing%'
                then coalesce(events.engagement_seconds, 0) else 0 end
        ) as pricing_seconds,
        sum(case when {{ recent }} and events.event_type = 'email_open' then 1 else 0 end) as email_opens,
        sum(case when {{ recent }} and events.event_type = 'email_click' then 1 else 0 end) as email_clicks,
        sum(case when {{ recent }} and events.event_type = 'form_submitted' then 1 else 0 end) as forms,
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
        coalesce(activity.sessions_14d, 0) as sessions_14d,
        coalesce(activity.page_views, 0) as page_views,
        coalesce(activity.pricing_seconds, 0) as pricing_seconds,
        coalesce(activity.email_opens, 0) as email_opens,
        coalesce(activity.email_clicks, 0) as email_clicks,
        coalesce(activity.forms, 0) as forms,
        coalesce(activity.sessions, 0) as sessions,
        coalesce(activity.page_views_all, 0) as page_views_all,
        coalesce(activity.engagement_seconds_all, 0) as engagement_seconds_all,
        coalesce(activity.distinct_pages_all, 0) as distinct_pages_all,
        coalesce(activity.email_opens_all, 0) as email_opens_all,
        coalesce(activity.email_clicks_all, 0) as email_clicks_all,
        coalesce(activity.forms_all, 0) as forms_all,
        coalesce(activity.sessions_all, 0) as sessions_all
    from score_points
    left join activity
        on activity.person_id = score_points.person_id
        and activity.score_point = score_points.score_point
)

select * from final
