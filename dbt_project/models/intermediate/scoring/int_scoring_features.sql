{#- The conversion model's inputs, long format (one row per person, point in time and non-zero
    feature), at the `current` point (scoring) and at every `lead:<id>` point (training: what was
    known when the CRM lead was created). The values are final numbers: training only standardises
    them, and int_lead_conversion_scores applies the weights to exactly these values.
      rule:<rule_id>        the rule's points before the group cap divided by its points per hit:
                            decayed hits, for every rule of the seed, enabled or not
      log_*_<n>d            ln(1 + count) of activity in the var feature_window_days days before
      log_*_all             ln(1 + count) of activity any time before (page views, seconds engaged,
                            distinct pages, opens, clicks, forms, sessions)
      log_days_known        ln(1 + days since the first interaction)
      log_days_since_last_interaction   ln(1 + days), 365 when there was none
      log_sales_<type>_all  ln(1 + count) of the CRM activities (call, email, meeting, task) on the
                            person's leads before the point; log_sales_activities_<n>d in the window;
                            log_days_since_sales_activity (only when there was one)
      lead_score            the rule score at the point: never a feature of the learned model, only
                            of its last fallback (the rule score calibrated to probabilities,
                            intent_pipeline.scoring_model) -#}
with

score_points as (
    select * from {{ ref('int_score_points') }}
    where score_point <> 'previous'
),

rule_points as (
    select * from {{ ref('int_lead_score_rules') }}
),

rules as (
    select * from {{ ref('scoring_rules') }}
),

activity as (
    select * from {{ ref('int_score_point_activity') }}
    where score_point <> 'previous'
),

scores as (
    select * from {{ ref('int_lead_scores_computed') }}
    where score_point <> 'previous'
),

crm_activities as (
    select * from {{ ref('stg_crm__activities') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

sales_activity as (
    -- what sales did with the person's CRM leads before each point (never after: no leak)
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        crm_activities.activity_type,
        crm_activities.activity_at
    from score_points
    inner join people_nodes
        on people_nodes.person_id = score_points.person_id
        and people_nodes.node_key like 'crm_lead:%'
    inner join crm_activities
        on {{ node_key('crm_lead', 'crm_activities.lead_id') }} = people_nodes.node_key
        and crm_activities.activity_at <= score_points.as_of_at
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
        'log_sales_activities_{{ var("feature_window_days") }}d' as feature,
        ln(1 + count(*)) as value
    from sales_activity
    where activity_at > {{ dbt.dateadd('day', -var('feature_window_days'), 'as_of_at') }}
    group by 1, 2
    union all
    select
        person_id,
        score_point,
        'log_days_since_sales_activity' as feature,
        ln(1 + min({{ days_between('activity_at', 'as_of_at') }})) as value
    from sales_activity
    group by 1, 2
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
    where rule_points.score_point <> 'previous'
        and rule_points.rule_points <> 0
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

final as (
    select person_id, score_point, feature, cast(value as double precision) as value from rule_features
    union all
    select person_id, score_point, feature, cast(value as double precision) from activity_features
    union all
    select person_id, score_point, feature, cast(value as double precision) from silence_features
    union all
    select person_id, score_point, feature, cast(value as double precision) from sales_features
    union all
    select person_id, score_point, feature, cast(value as double precision) from score_features
)

select * from final
