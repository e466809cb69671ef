{#- The conversion model's inputs, long format (one row per person, point in time and non-zero
    feature): at the `current` point (lead_scores), at every `lead:<id>` point (the training
    examples: what was known var lead_observation_days after the CRM lead was created), at every
    `snap<d>:<id>` point (the same lead d days after creation, var lead_snapshot_days: more training
    examples) and at `now:<id>` (every CRM lead at interval_end: its lead-scoped features only, for
    crm_lead_scores). The values are final numbers: training only standardises them, and
    int_lead_conversion_scores / int_crm_lead_conversion_scores apply the weights to exactly these.
    feature_scope 'person': the person's behaviour, the same for all of a person's leads:
      rule:<rule_id>        the rule's points before the group cap divided by its points per hit:
                            decayed hits, for every rule of the seed, enabled or not
      log_hits:<rule_id>    ln(hits) of an event or session rule before the point, from two hits on: how often
                            it fired, which its caps hide from rule:<rule_id>
      log_*_<n>d            ln(1 + count) of activity in the var feature_window_days days before
      log_*_all             ln(1 + count) of activity any time before (page views, seconds engaged,
                            distinct pages, opens, clicks, forms, sessions)
      log_days_known        ln(1 + days since the first interaction)
      log_days_since_last_interaction   ln(1 + days), 365 when there was none
      log_email_sends_all   ln(1 + messages delivered); email_open_rate, email_click_rate: opens and
                            clicks per delivered message (at most 1)
      log_pages_per_session, log_days_since_last_page_view, log_sessions_14d: depth and recency
      lead_score            the rule score at the point: never a feature of the learned model, only
                            of its last fallback (the rule score calibrated to probabilities,
                            intent_pipeline.scoring_model)
    feature_scope 'lead': the CRM history of the point's lead (lead:, snap, now:) or of all the
    person's leads (current), strictly before or at the point:
      log_sales_<type>_all  ln(1 + count) of the CRM activities (call, email, meeting, task);
                            log_sales_activities_<n>d and _14d in the window;
                            log_days_since_sales_activity (only when there was one)
      log_lead_age_days     ln(1 + days since the lead was created; the newest lead at `current`)
      has_open_opportunity, log_open_opportunity_age_days, opportunity_stage_index (1-based in var
                            opportunity_stages, only when a version's stage changed at or before
                            the point), had_lost_opportunity: the opportunities as the CRM knew them
                            then; a later close or stage is never read back into the past
      log_sales_<type>_<succeeded/failed>_all  ln(1 + count) of the activities of a type by their
                            outcome (stg_crm__activities.outcome_result: a call connected or not, a
                            meeting held or a no-show); an activity without an outcome counts only
                            in log_sales_<type>_all
    `previous` (var interval_start) only when the person-level grades are cut on the probability
    (macro uses_probability_grades of var scoring_model): lead_scores then needs the previous
    probability to tell who became hot; scope and values as at `current`. -#}
{%- set previous_point = uses_probability_grades(scoring_model()) %}
{%- set not_previous = "true" if previous_point else "score_point <> 'previous'" %}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

score_points as (
    select * from {{ ref('int_score_points') }}
    where {{ not_previous }}
),

rule_points as (
    select * from {{ ref('int_lead_score_rules') }}
),

rules as (
    select * from {{ ref('scoring_rules') }}
),

activity as (
    select * from {{ ref('int_score_point_activity') }}
    where {{ not_previous }}
),

scores as (
    select * from {{ ref('int_lead_scores_computed') }}
    where {{ not_previous }}
),

crm_activities as (
    select * from {{ ref('stg_crm__activities') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

crm_leads as (
    select * from {{ ref('stg_crm__leads') }}
),

opportunity_versions as (
    select * from {{ ref('stg_crm__opportunity_versions') }}
),

email_events as (
    select * from {{ ref('stg_email__events') }}
),

lead_people as (
    select
        people_nodes.person_id,
        crm_leads.lead_id,
        crm_leads.created_at as lead_created_at
    from crm_leads
    {{ join_lead_person('crm_leads.lead_id') }}
),

crm_points as (
    -- whose CRM history a point sees: a lead's own (lead:<id>, snap<d>:<id>, and now:<id>, every
    -- lead at interval_end, which crm_lead_scores scores lead by lead), the person's leads together
    -- at `current` (lead_scores)
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        lead_people.lead_id,
        lead_people.lead_created_at
    from score_points
    inner join lead_people
        on lead_people.person_id = score_points.person_id
        and lead_people.lead_id = {{ dbt.split_part('score_points.score_point', "':'", 2) }}
    where score_points.score_point not in ('current', 'previous')
    union all
    -- the person's leads together at `current` (and at `previous`, which score_points holds only
    -- when the grades are on the probability), and every lead at interval_end (`now`)
    select
        score_points.person_id,
        case when lead_scope.scope = 'now' then 'now' else score_points.score_point end as score_point,
        score_points.as_of_at,
        lead_people.lead_id,
        lead_people.lead_created_at
    from score_points
    inner join lead_people
        on lead_people.person_id = score_points.person_id
    cross join (values ('point'), ('now')) as lead_scope (scope)
    where score_points.score_point = 'current'
        or (score_points.score_point = 'previous' and lead_scope.scope = 'point')
),

scoped_points as (
    select
        person_id,
        case when score_point = 'now' then 'now:' || lead_id else score_point end as score_point,
        as_of_at,
        lead_id,
        lead_created_at
    from crm_points
),

sales_activity as (
    -- what sales did with the point's lead(s) before the point (never after: no leak)
    select
        scoped_points.person_id,
        scoped_points.score_point,
        scoped_points.as_of_at,
        crm_activities.activity_type,
        crm_activities.outcome_result,
        crm_activities.activity_at
    from scoped_points
    inner join crm_activities
        on crm_activities.lead_id = scoped_points.lead_id
        and crm_activities.activity_at <= scoped_points.as_of_at
),

sales_features as (
    {%- for type in ['call', 'email', 'meeting', 'task'] %}
    select
        person_id,
        score_point,
        'log_sales_{{ type }}_all' as feature,
        ln(1 + count(*)) as value
    from sales_activity
    where activity_type = '{{ type }}'
    group by 1, 2
    union all
    {%- endfor %}
    select
        person_id,
        score_point,
        'log_sales_' || activity_type || case outcome_result when 'success' then '_succeeded' else '_failed' end
            || '_all' as feature,
        ln(1 + count(*)) as value
    from sales_activity
    where outcome_result is not null and activity_type in ('call', 'email', 'meeting', 'task')
    group by 1, 2, 3
    union all
    select
        person_id,
        score_point,
        'log_sales_activities_{{ var("feature_window_days") }}d' as feature,
        ln(1 + count(*)) as value
    from sales_activity
    where activity_at > {{ dbt.dateadd('day', -var('feature_window_days'), 'as_of_at') }}
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'log_sales_activities_14d' as feature,
        ln(1 + count(*)) as value
    from sales_activity
    where activity_at > {{ dbt.dateadd('day', -14, 'as_of_at') }}
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'log_days_since_sales_activity' as feature,
        ln(1 + min({{ days_between('activity_at', 'as_of_at') }})) as value
    from sales_activity
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'log_lead_age_days' as feature,
        ln(1 + min({{ days_between('lead_created_at', 'as_of_at') }})) as value
    from scoped_points
    where lead_created_at <= as_of_at
    group by 1, 2
),

opportunity_seen as (
    -- the opportunities of the point's lead(s) as the CRM knew them at the point (macros/scoring_opportunities.sql,
    -- the opportunity rules read the same)
    {{ opportunities_known_at('scoped_points') }}
),

opportunity_features as (
    select
        person_id,
        score_point,
        'has_open_opportunity' as feature,
        1.0 as value
    from opportunity_seen
    where closed_by_then = 0
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'log_open_opportunity_age_days' as feature,
        ln(1 + max({{ days_between('created_at', 'as_of_at') }})) as value
    from opportunity_seen
    where closed_by_then = 0
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'opportunity_stage_index' as feature,
        max(stage_index) as value
    from opportunity_seen
    where closed_by_then = 0 and stage_index is not null
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'had_lost_opportunity' as feature,
        1.0 as value
    from opportunity_seen
    where lost_by_then = 1
    group by 1, 2
),

person_deliveries as (
    -- messages the ESP delivered to the person (macro person_delivery_events: the path the
    -- email_delivery rules read too)
    select
        delivery_events.person_id,
        delivery_events.event_at
    from ({{ person_delivery_events('email_events', 'people_nodes') }}) as delivery_events
    where delivery_events.sendgrid_event = 'delivered'
),

email_sends as (
    -- messages delivered to the person before the point: sends against opens and clicks. A running
    -- count over the person's deliveries and points (a delivery at the point's instant sorts first and
    -- counts), not a join on event_at <= as_of_at: given fresh inputs, DuckDB ran that join on the
    -- range alone, every point against everybody's deliveries (docs/scoring.md, "int_scoring_features'
    -- memory"). Points without a delivery before them get no row, as the join gave.
    select
        person_id,
        score_point,
        sends
    from (
        select
            person_id,
            score_point,
            is_point,
            sum(1 - is_point) over (
                partition by person_id
                order by timeline_at, is_point
                rows between unbounded preceding and current row
            ) as sends
        from (
            select person_id, score_point, as_of_at as timeline_at, 1 as is_point
            from score_points
            where as_of_at is not null
            union all
            select person_id, cast(null as {{ dbt.type_string() }}), event_at, 0
            from person_deliveries
            where event_at is not null
        ) as timeline
    ) as counted
    where is_point = 1 and sends > 0
),

email_features as (
    select
        email_sends.person_id,
        email_sends.score_point,
        'log_email_sends_all' as feature,
        ln(1 + email_sends.sends) as value
    from email_sends
    union all
    select
        email_sends.person_id,
        email_sends.score_point,
        'email_open_rate' as feature,
        least(1.0, activity.email_opens_all * 1.0 / email_sends.sends) as value
    from email_sends
    inner join activity
        on activity.person_id = email_sends.person_id
        and activity.score_point = email_sends.score_point
    where activity.email_opens_all > 0
    union all
    select
        email_sends.person_id,
        email_sends.score_point,
        'email_click_rate' as feature,
        least(1.0, activity.email_clicks_all * 1.0 / email_sends.sends) as value
    from email_sends
    inner join activity
        on activity.person_id = email_sends.person_id
        and activity.score_point = email_sends.score_point
    where activity.email_clicks_all > 0
),

score_features as (
    select
        person_id,
        score_point,
        'lead_score' as feature,
        lead_score as value
    from scores
    where lead_score <> 0
),

rule_features as (
    select
        rule_points.person_id,
        rule_points.score_point,
        'rule:' || rule_points.rule_id as feature,
        rule_points.rule_points / rules.points as value
    from rule_points
    inner join rules
        on rules.rule_id = rule_points.rule_id
    where {{ not_previous.replace('score_point', 'rule_points.score_point') }}
        and rule_points.rule_points <> 0
),

hit_count_features as (
    -- how often an event rule fired before the point: its caps and decay keep rule:<id> at a hit or
    -- less (pricing page > 60 s earns its points once), so the second or fifth long visit shows only
    -- here. ln(hits): 0 at one hit, so a row only from two hits on (rule:<id> says whether it fired)
    select
        person_id,
        score_point,
        'log_hits:' || rule_id as feature,
        ln(hits) as value
    from rule_points
    where {{ not_previous }}
        and signal in ('event', 'session')
        and hits > 1
),

activity_features as (
    {%- set window = var('feature_window_days') %}
    {%- set counts = {
        'page_views': 'log_page_views_' ~ window ~ 'd',
        'pricing_seconds': 'log_pricing_seconds_' ~ window ~ 'd',
        'email_opens': 'log_email_opens_' ~ window ~ 'd',
        'email_clicks': 'log_email_clicks_' ~ window ~ 'd',
        'forms': 'log_forms_' ~ window ~ 'd',
        'sessions': 'log_sessions_' ~ window ~ 'd',
        'page_views_all': 'log_page_views_all',
        'engagement_seconds_all': 'log_engagement_seconds_all',
        'distinct_pages_all': 'log_distinct_pages_all',
        'email_opens_all': 'log_email_opens_all',
        'email_clicks_all': 'log_email_clicks_all',
        'forms_all': 'log_forms_all',
        'sessions_all': 'log_sessions_all',
    } %}
    {%- for column, feature in counts.items() %}
    select
        person_id,
        score_point,
        '{{ feature }}' as feature,
        ln(1 + {{ column }}) as value
    from activity
    where {{ column }} > 0
    union all
    {%- endfor %}
    select
        person_id,
        score_point,
        'log_days_known' as feature,
        ln(1 + {{ days_between('first_activity_at', 'as_of_at') }}) as value
    from activity
    where first_activity_at is not null
),

silence_features as (
    select
        person_id,
        score_point,
        'log_days_since_last_interaction' as feature,
        ln(1 + coalesce(least({{ days_between('last_activity_at', 'as_of_at') }}, 365.0), 365.0)) as value
    from activity
),

session_features as (
    -- how deep the person's visits go and how recent the last one is
    select
        person_id,
        score_point,
        'log_pages_per_session' as feature,
        ln(1 + page_views_all * 1.0 / sessions_all) as value
    from activity
    where sessions_all > 0 and page_views_all > 0
    union all
    select
        person_id,
        score_point,
        'log_days_since_last_page_view' as feature,
        ln(1 + {{ days_between('last_page_view_at', 'as_of_at') }}) as value
    from activity
    where last_page_view_at is not null
    union all
    select
        person_id,
        score_point,
        'log_sessions_14d' as feature,
        ln(1 + sessions_14d) as value
    from activity
    where sessions_14d > 0
),

final as (
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}) as value, 'person' as feature_scope
    from rule_features

    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from hit_count_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from activity_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from silence_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from score_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from email_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'person' from session_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'lead' from sales_features
    union all
    select person_id, score_point, feature, cast(value as {{ sql_type('double precision') }}), 'lead' from opportunity_features
)

select * from final
