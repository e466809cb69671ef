{#- Every scoring rule that applies to a person at a point in time (int_score_points), with its points
    after per-day caps, decay, the rule's total cap and its group's cap. Rules are the rows of the
    seed scoring_rules; nothing here names a rule.

    Signals and their conditions (columns of the seed):
      event         events of event_type, optionally of form_type, on a page_pattern (SQL LIKE on
                    the path), engaged strictly longer than min_engagement_seconds, within the last
                    window_days days; at most max_points_per_day per calendar day
      title         a job title holding a keyword of keyword_group (seed title_keywords; Latin
                    keywords match whole words, Chinese ones anywhere)
      industry      an industry holding a name of the seed icp_industries
      company_size  the company size's first number (a head count or a band's lower bound) at
                    least min_company_size
      silence       no interaction for more than window_days days
      sales_activity  CRM activities (stg_crm__activities) of the person's CRM leads: event_type is
                    the activity type (call, email, meeting, task), or the type with its outcome
                    (call_succeeded, meeting_failed: stg_crm__activities.outcome_result), within the
                    last window_days days; hits, caps and decay as for event
      session       web sessions of the person (int_events_unified.session_key) with at least
                    min_count page views before the point (its depth), the last of them within the
                    last window_days days (its recency); every such session is a hit, on the day of
                    its last page view, with caps and decay as for event
      opportunity_stage  an open opportunity of the person's CRM leads at the stage event_type (one of
                    var opportunity_stages) or a later one, its stage last changed within window_days
                    (any time without it); a hit per opportunity, on the day of that change
      opportunity_stalled  an open opportunity whose stage has not changed (or, never changed, that was
                    created) for more than window_days days; a hit per opportunity, no decay
                    Both see the opportunities as the CRM knew them at the point (macro
                    opportunities_known_at, which the conversion model's features read too)
      email_delivery  messages the ESP handled for the person's mailbox (stg_email__events, macro
                    person_delivery_events): event_type is SendGrid's delivery event (processed: sent,
                    delivered, deferred, dropped), min_count within window_days; hits, caps and decay
                    as for event (how much marketing mail reached a lead, which no open or click says)
    min_count = 1: every qualifying event is a hit; its day's points (points x hits, at most
    max_points_per_day) decay from the day's last hit. min_count > 1 (a count in a window): the rule
    fires floor(count / min_count) times, decaying from the last qualifying event.
    Decay (decay, decay_days, decay_grace_days): none, half_life or linear, full points within the
    grace days (macro decay_factor). The decayed sum is capped at max_points (a floor for negative
    points), then the rules of one cap_group together at the group's max_points (seed
    scoring_cap_groups), each rule scaled down by the same factor.
    Rules with is_enabled false are computed (the conversion model learns from them, the learned
    points suggest a value) but award no points. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

score_points as (
    select * from {{ ref('int_score_points') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

profiles as (
    select * from {{ ref('int_profiles_observed') }}
),

rules as (
    select * from {{ ref('scoring_rules') }}
),

cap_groups as (
    select * from {{ ref('scoring_cap_groups') }}
),

title_keywords as (
    select * from {{ ref('title_keywords') }}
),

icp_industries as (
    select * from {{ ref('icp_industries') }}
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

event_hits as (
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        rules.rule_id,
        {{ rule_hit_counts('events.event_at') }}
    from score_points
    inner join events
        on events.person_id = score_points.person_id
        and events.event_at <= score_points.as_of_at
    inner join rules
        on rules.signal = 'event'
        and events.event_type = rules.event_type
        and (rules.form_type is null or events.form_type = rules.form_type)
        and (rules.page_pattern is null or events.page_path like rules.page_pattern)
        and (
            rules.min_engagement_seconds is null
            or events.engagement_seconds > rules.min_engagement_seconds
        )
        and {{ in_rule_window('events.event_at') }}
    group by 1, 2, 3, 4, 5
),

activity_hits as (
    -- what sales did with the person's CRM leads: the signal of a sales-led business (issue 13).
    -- Shaped like event_hits, sharing its rules through rule_hit_counts and in_rule_window; the
    -- relation, the path to the person (its crm_lead nodes) and the rule's match are its own
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        rules.rule_id,
        {{ rule_hit_counts('crm_activities.activity_at') }}
    from score_points
    inner join people_nodes
        on people_nodes.person_id = score_points.person_id
        and people_nodes.identifier_type = 'crm_lead'
    inner join crm_activities
        on {{ node_key('crm_lead', 'crm_activities.lead_id') }} = people_nodes.node_key
        and crm_activities.activity_at <= score_points.as_of_at
    inner join rules
        on rules.signal = 'sales_activity'
        and (
            rules.event_type = crm_activities.activity_type
            or rules.event_type = crm_activities.activity_type || case crm_activities.outcome_result
                when 'success' then '_succeeded' when 'failure' then '_failed' end
        )
        and {{ in_rule_window('crm_activities.activity_at') }}
    group by 1, 2, 3, 4, 5
),

delivery_hits as (
    -- marketing mail the person's mailbox received (sent, delivered, deferred, dropped): no event of
    -- int_events_unified, which holds behaviour only. Shaped like event_hits (rule_hit_counts,
    -- in_rule_window); the path from a message to a person is macro person_delivery_events'
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        rules.rule_id,
        {{ rule_hit_counts('delivery_events.event_at') }}
    from score_points
    inner join ({{ person_delivery_events('email_events', 'people_nodes') }}) as delivery_events
        on delivery_events.person_id = score_points.person_id
        and delivery_events.event_at <= score_points.as_of_at
    inner join rules
        on rules.signal = 'email_delivery'
        and rules.event_type = delivery_events.sendgrid_event
        and {{ in_rule_window('delivery_events.event_at') }}
    group by 1, 2, 3, 4, 5
),

session_depths as (
    -- each web session of the person before the point with its page views then: how deep and how
    -- recent the visits are (session rules)
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        events.session_key,
        count(*) as page_views,
        max(events.event_at) as last_at
    from score_points
    inner join events
        on events.person_id = score_points.person_id
        and events.event_at <= score_points.as_of_at
        and events.event_type = 'page_view'
        and events.session_key is not null
    group by 1, 2, 3, 4
),

session_buckets as (
    -- every qualifying session is a hit (min_count is the session's page views, not a count of
    -- sessions), bucketed by the day of its last page view like an event rule's hits
    select
        session_depths.person_id,
        session_depths.score_point,
        session_depths.as_of_at,
        rules.rule_id,
        count(*) as hits,
        max(session_depths.last_at) as last_hit_at
    from session_depths
    inner join rules
        on rules.signal = 'session'
        and session_depths.page_views >= coalesce(rules.min_count, 1)
        and {{ in_rule_window('session_depths.last_at', 'session_depths.as_of_at') }}
    group by 1, 2, 3, 4, cast(session_depths.last_at as date)
),

-- opportunity rules (signals opportunity_stage, opportunity_stalled): the opportunities of the
-- person's CRM leads as the CRM knew them at the point, the home the model's features read too.
-- The exists guards work, not results (opportunity_buckets joins the rules on their signal): it spares
-- the lookups when the seed has no opportunity rule at all. Disabled ones count: a candidate rule is
-- computed too (its rows, 0 points awarded, are what int_scoring_features learns from), so the shipped
-- seed, whose opportunity rules are all candidates, passes it; guarding on enabled rules would drop them
opportunity_points as (
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        lead_people.lead_id
    from score_points
    inner join ({{ crm_lead_people('crm_leads') }}) as lead_people
        on lead_people.person_id = score_points.person_id
    where exists (
        select 1 from rules where rules.signal in ('opportunity_stage', 'opportunity_stalled')
    )
),

opportunities_seen as (
    {{ opportunities_known_at('opportunity_points') }}
),

opportunity_buckets as (
    -- opportunity_stage: a hit per open opportunity at the stage or later, bucketed by the day of its
    -- last stage change (decaying from it); opportunity_stalled: a hit per open opportunity without a
    -- stage change (or, never changed, since its creation) for window_days, no decay
    select
        opportunities_seen.person_id,
        opportunities_seen.score_point,
        opportunities_seen.as_of_at,
        rules.rule_id,
        count(*) as hits,
        max(case when rules.signal = 'opportunity_stage' then opportunities_seen.stage_changed_at end) as last_hit_at
    from opportunities_seen
    inner join rules
        on opportunities_seen.closed_by_then = 0
        and (
            (
                rules.signal = 'opportunity_stage'
                and opportunities_seen.stage_index >= {{ opportunity_stage_index('rules.event_type') }}
                and {{ in_rule_window('opportunities_seen.stage_changed_at', 'opportunities_seen.as_of_at') }}
            )
            or (
                rules.signal = 'opportunity_stalled'
                and coalesce(opportunities_seen.stage_changed_at, opportunities_seen.created_at)
                    < {{ dbt.dateadd('day', '-rules.window_days', 'opportunities_seen.as_of_at') }}
            )
        )
    group by 1, 2, 3, 4,
        case when rules.signal = 'opportunity_stage' then cast(opportunities_seen.stage_changed_at as date) end
),

event_buckets as (
    select
        counted.person_id,
        counted.score_point,
        counted.as_of_at,
        counted.rule_id,
        cast(floor(counted.qualifying_count * 1.0 / coalesce(rules.min_count, 1)) as integer) as hits,
        counted.last_hit_at
    from (
        select * from event_hits
        union all
        select * from activity_hits
        union all
        select * from delivery_hits
    ) as counted
    inner join rules
        on rules.rule_id = counted.rule_id
    where counted.qualifying_count >= coalesce(rules.min_count, 1)
),

known_profiles as (
    -- each observed profile once: its title, industry and size are matched against the rules once,
    -- not again for every point in time that sees it (the points join the matches below)
    select distinct
        profiles.person_id,
        profiles.observed_at,
        lower(profiles.job_title) as job_title,
        -- latin keywords match whole words ("cto" must not match "doctor")
        ' ' || trim({{ regex_replace_all('lower(profiles.job_title)', "'[^a-z0-9]+'", "' '") }}) || ' ' as title_words,
        lower(profiles.industry) as industry,
        {{ first_integer('profiles.company_size') }} as company_size_min
    from profiles
),

profile_matches as (
    select distinct
        known_profiles.person_id,
        known_profiles.observed_at,
        rules.rule_id
    from known_profiles
    inner join rules
        on rules.signal in ('title', 'industry', 'company_size')
    left join title_keywords
        on rules.signal = 'title'
        and title_keywords.keyword_group = rules.keyword_group
        and (
            (title_keywords.language = 'zh' and known_profiles.job_title like '%' || title_keywords.keyword || '%')
            or (
                title_keywords.language <> 'zh'
                and known_profiles.title_words like '% ' || lower(title_keywords.keyword) || ' %'
            )
        )
    left join icp_industries
        on rules.signal = 'industry'
        and known_profiles.industry like '%' || lower(icp_industries.industry) || '%'
    where (rules.signal = 'title' and title_keywords.keyword is not null)
        or (rules.signal = 'industry' and icp_industries.industry is not null)
        or (rules.signal = 'company_size' and known_profiles.company_size_min >= rules.min_company_size)
),

profile_hits as (
    -- a profile rule applies at a point when a profile observed at or before it matched
    select distinct
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        profile_matches.rule_id
    from score_points
    inner join profile_matches
        on profile_matches.person_id = score_points.person_id
        and profile_matches.observed_at <= score_points.as_of_at
),

last_interactions as (
    select * from {{ ref('int_score_point_activity') }}
),

silence_hits as (
    select
        last_interactions.person_id,
        last_interactions.score_point,
        last_interactions.as_of_at,
        rules.rule_id
    from last_interactions
    inner join rules
        on rules.signal = 'silence'
    where last_interactions.last_activity_at
        < {{ dbt.dateadd('day', '-rules.window_days', 'last_interactions.as_of_at') }}
),

buckets as (
    select person_id, score_point, as_of_at, rule_id, hits, last_hit_at from event_buckets
    union all
    select person_id, score_point, as_of_at, rule_id, hits, last_hit_at from session_buckets
    union all
    select person_id, score_point, as_of_at, rule_id, hits, last_hit_at from opportunity_buckets
    union all
    select person_id, score_point, as_of_at, rule_id, 1, cast(null as timestamp) from profile_hits
    union all
    select person_id, score_point, as_of_at, rule_id, 1, cast(null as timestamp) from silence_hits
),

bucket_points as (
    select
        buckets.person_id,
        buckets.score_point,
        buckets.as_of_at,
        buckets.rule_id,
        buckets.hits,
        buckets.last_hit_at,
        {{ capped_points('rules.points * buckets.hits', 'rules.points', 'rules.max_points_per_day') }}
        * case
            when buckets.last_hit_at is null then 1.0
            else {{ decay_factor(
                'rules.decay', 'rules.decay_days', 'rules.decay_grace_days',
                days_between('buckets.last_hit_at', 'buckets.as_of_at')
            ) }}
        end as decayed_points
    from buckets
    inner join rules
        on rules.rule_id = buckets.rule_id
),

rule_points as (
    select
        bucket_points.person_id,
        bucket_points.score_point,
        bucket_points.as_of_at,
        bucket_points.rule_id,
        sum(bucket_points.hits) as hits,
        max(bucket_points.last_hit_at) as last_hit_at,
        {{ capped_points(exact_sum('bucket_points.decayed_points'), 'max(rules.points)', 'max(rules.max_points)') }}
            as rule_points
    from bucket_points
    inner join rules
        on rules.rule_id = bucket_points.rule_id
    group by 1, 2, 3, 4
),

group_totals as (
    select
        rule_points.person_id,
        rule_points.score_point,
        rules.cap_group,
        {{ exact_sum('rule_points.rule_points') }} as group_points
    -- this model's own joins (on rule_id): alike in shape only to other models', other relations
    from rule_points
    inner join rules
        on rules.rule_id = rule_points.rule_id
    where rules.is_enabled
        and rules.cap_group is not null
    group by 1, 2, 3
),

final as (
    select
        rule_points.person_id,
        rule_points.score_point,
        rule_points.as_of_at,
        rule_points.rule_id,
        rules.rule_group,
        rules.is_enabled,
        rules.description,
        rules.description_zh,
        rules.signal,
        cast(rule_points.hits as integer) as hits,
        rule_points.last_hit_at,
        cast(rule_points.rule_points as {{ sql_type('double precision') }}) as rule_points,
        cast(
            case
                when not rules.is_enabled then 0.0
                when cap_groups.max_points is null or group_totals.group_points = 0 then rule_points.rule_points
                else rule_points.rule_points
                    * {{ capped_points('group_totals.group_points', 'group_totals.group_points', 'cap_groups.max_points') }}
                    / group_totals.group_points
            end as {{ sql_type('double precision') }}) as points_awarded
    -- this model's own joins (on rule_id, cap_group): alike in shape only to other models', other relations
    from rule_points
    inner join rules
        on rules.rule_id = rule_points.rule_id
    left join group_totals
        on group_totals.person_id = rule_points.person_id
        and group_totals.score_point = rule_points.score_point
        and group_totals.cap_group = rules.cap_group
    left join cap_groups
        on cap_groups.cap_group = rules.cap_group
)

select * from final
