{#- The one place lead scores are computed. Rules are rows of the seed scoring_rules, not code.
    Every person is scored at two points in time (the DAG's interval_end = current score and
    interval_start = previous score) from the same SQL, using only what was known at that moment:
    events at or before it and profiles observed at or before it.

    A rule fires floor(qualifying events / min_count) times; its points are points x times fired,
    capped at max_points (a floor for negative rules). With the default seed max_points = points,
    so each rule counts at most once. Signals:
      event    events of event_type (and form_type, page_pattern LIKE, engagement strictly above
               min_engagement_seconds, within the last window_days days when set)
      title    a job title containing a keyword of the seed title_keywords
      industry an industry containing a name of the seed icp_industries
      silence  no interaction for more than window_days days (exactly window_days does not fire) -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

profiles as (
    select * from {{ ref('int_profiles_observed') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

rules as (
    select * from {{ ref('scoring_rules') }}
),

title_keywords as (
    select * from {{ ref('title_keywords') }}
),

icp_industries as (
    select * from {{ ref('icp_industries') }}
),

score_points as (
    select
        'current' as score_point,
        {{ interval_end_at('events') }} as as_of_at
    union all
    select
        'previous' as score_point,
        {{ interval_start_at('events') }} as as_of_at
),

person_points as (
    select
        people.person_id,
        score_points.score_point,
        score_points.as_of_at
    from (select distinct person_id from people_nodes) as people
    cross join score_points
),

event_rule_counts as (
    select
        person_points.person_id,
        person_points.score_point,
        rules.rule_id,
        count(*) as qualifying_count
    from person_points
    inner join events
        on events.person_id = person_points.person_id
        and events.event_at <= person_points.as_of_at
    inner join rules
        on rules.signal = 'event'
        and events.event_type = rules.event_type
        and (rules.form_type is null or events.form_type = rules.form_type)
        and (rules.page_pattern is null or events.page_path like rules.page_pattern)
        and (
            rules.min_engagement_seconds is null
            or events.engagement_seconds > rules.min_engagement_seconds
        )
        and (
            rules.window_days is null
            or events.event_at > {{ dbt.dateadd('day', '-rules.window_days', 'person_points.as_of_at') }}
        )
    group by person_points.person_id, person_points.score_point, rules.rule_id
),

event_rule_hits as (
    select
        event_rule_counts.person_id,
        event_rule_counts.score_point,
        event_rule_counts.rule_id,
        cast(floor(event_rule_counts.qualifying_count * 1.0 / coalesce(rules.min_count, 1)) as integer)
            as times_fired
    from event_rule_counts
    inner join rules
        on rules.rule_id = event_rule_counts.rule_id
    where event_rule_counts.qualifying_count >= coalesce(rules.min_count, 1)
),

known_profiles as (
    select
        person_points.person_id,
        person_points.score_point,
        lower(profiles.job_title) as job_title,
        -- latin keywords match whole words ("cto" must not match "doctor")
        ' ' || trim(regexp_replace(lower(profiles.job_title), '[^a-z0-9]+', ' ', 'g')) || ' ' as title_words,
        lower(profiles.industry) as industry
    from person_points
    inner join profiles
        on profiles.person_id = person_points.person_id
        and profiles.observed_at <= person_points.as_of_at
),

title_hits as (
    select distinct
        known_profiles.person_id,
        known_profiles.score_point,
        rules.rule_id,
        1 as times_fired
    from known_profiles
    inner join title_keywords
        on (title_keywords.language = 'zh' and known_profiles.job_title like '%' || title_keywords.keyword || '%')
        or (
            title_keywords.language <> 'zh'
            and known_profiles.title_words like '% ' || lower(title_keywords.keyword) || ' %'
        )
    inner join rules
        on rules.signal = 'title'
),

industry_hits as (
    select distinct
        known_profiles.person_id,
        known_profiles.score_point,
        rules.rule_id,
        1 as times_fired
    from known_profiles
    inner join icp_industries
        on known_profiles.industry like '%' || lower(icp_industries.industry) || '%'
    inner join rules
        on rules.signal = 'industry'
),

last_interactions as (
    select
        person_points.person_id,
        person_points.score_point,
        max(events.event_at) as last_activity_at
    from person_points
    left join events
        on events.person_id = person_points.person_id
        and events.event_at <= person_points.as_of_at
        and events.is_interaction
    group by person_points.person_id, person_points.score_point
),

silence_hits as (
    select
        last_interactions.person_id,
        last_interactions.score_point,
        rules.rule_id,
        1 as times_fired
    from last_interactions
    inner join person_points
        on person_points.person_id = last_interactions.person_id
        and person_points.score_point = last_interactions.score_point
    inner join rules
        on rules.signal = 'silence'
    where last_interactions.last_activity_at
        < {{ dbt.dateadd('day', '-rules.window_days', 'person_points.as_of_at') }}
),

rule_hits as (
    select * from event_rule_hits
    union all
    select * from title_hits
    union all
    select * from industry_hits
    union all
    select * from silence_hits
),

awarded as (
    select
        rule_hits.person_id,
        rule_hits.score_point,
        rule_hits.rule_id,
        rules.rule_group,
        rules.description,
        case
            when rules.points < 0
                then greatest(rules.points * rule_hits.times_fired, coalesce(rules.max_points, rules.points))
            else least(rules.points * rule_hits.times_fired, coalesce(rules.max_points, rules.points))
        end as points_awarded
    from rule_hits
    inner join rules
        on rules.rule_id = rule_hits.rule_id
),

explained as (
    select
        awarded.*,
        awarded.description || ' '
        || case when awarded.points_awarded >= 0 then '+' else '' end
        || cast(awarded.points_awarded as varchar) as reason
    from awarded
),

final as (
    select
        person_points.person_id,
        person_points.score_point,
        person_points.as_of_at,
        cast(coalesce(sum(explained.points_awarded), 0) as integer) as lead_score,
        cast(coalesce(sum(case when explained.rule_group = 'fit' then explained.points_awarded end), 0) as integer)
            as fit_score,
        cast(coalesce(sum(case when explained.rule_group <> 'fit' then explained.points_awarded end), 0) as integer)
            as engagement_score,
        coalesce(
            {{ dbt.listagg('explained.reason', "'; '", 'order by explained.points_awarded desc, explained.rule_id') }},
            ''
        ) as score_reasons,
        max(last_interactions.last_activity_at) as last_activity_at
    from person_points
    left join explained
        on explained.person_id = person_points.person_id
        and explained.score_point = person_points.score_point
    left join last_interactions
        on last_interactions.person_id = person_points.person_id
        and last_interactions.score_point = person_points.score_point
    group by person_points.person_id, person_points.score_point, person_points.as_of_at
)

select * from final
