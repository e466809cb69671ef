{#- People who sit in a funnel stage longer than a rule of the seed funnel_stall_rules allows, as of
    var interval_end (without it: the latest event, macros/scoring_interval.sql), with their
    contact fields, score and owner, for the activation stage to alert on (every chat destination
    alerts a stall once, when it became one: plugins/intent_pipeline/activation/chat.py).
      opportunity_stage  an open opportunity whose CRM stage matches the rule's pattern, in that
                         stage since the latest export's stage_changed_at (Salesforce's Last Stage
                         Change Date) or, where the export has none, since the start of the export
                         interval in which the CRM first showed that stage; its creation if later
      repeated_without   min_count events of the rule's trigger after the person's last event of
                         its resolve conditions (e.g. 3 brochure downloads, no pricing inquiry since),
                         since the min_count-th of them
    A stall is strictly more than max_hours since then; stalled_at is when it became one and
    became_stalled_in_interval whether that was in [interval_start, interval_end), so an alert can
    fire once. The owner is the one activation shows for the person (int_activation_leads: the CRM's,
    or the one lead routing chose), else the CRM's; the score is the latest lead_scores row. -#}
with

stall_rules as (
    select * from {{ ref('funnel_stall_rules') }}
),

opportunity_versions as (
    select * from {{ ref('stg_crm__opportunity_versions') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

people as (
    select * from {{ ref('people') }}
),

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

activation_leads as (
    select * from {{ ref('int_activation_leads') }}
),

as_of as (
    select
        {{ interval_end_at('events') }} as as_of_at,
        {{ interval_start_at('events') }} as interval_start_at
),

rules as (
    select * from stall_rules
    where is_enabled
),

rule_settings as (
    -- the rows of one rule share these
    select
        rule_id,
        min(stage) as stage,
        min(max_hours) as max_hours,
        min(min_count) as min_count,
        min(description) as description,
        min(coalesce(nullif(trim(description_zh), ''), description)) as description_zh
    from rules
    group by rule_id
),

known_versions as (
    -- the exports known as of as_of_at, each with the stage the export before it showed
    select
        opportunity_versions.*,
        lag(opportunity_versions.stage) over (
            partition by opportunity_versions.opportunity_id
            order by opportunity_versions._interval_start
        ) as previous_stage,
        row_number() over (
            partition by opportunity_versions.opportunity_id
            order by opportunity_versions._interval_start desc
        ) as recency_rank
    from opportunity_versions
    cross join as_of
    where cast(opportunity_versions._interval_start as timestamp) < as_of.as_of_at
),

current_stages as (
    -- each opportunity's latest export and the first export of its current run in that stage
    select
        latest.opportunity_id,
        latest.lead_id,
        latest.stage,
        latest.is_closed,
        latest.created_at,
        latest.stage_changed_at,
        max(stage_changes._interval_start) as stage_shown_from
    from known_versions as latest
    inner join known_versions as stage_changes
        on stage_changes.opportunity_id = latest.opportunity_id
        and (stage_changes.previous_stage is null or {{ stage_changed('stage_changes.previous_stage', 'stage_changes.stage') }})
    where latest.recency_rank = 1
    group by
        latest.opportunity_id, latest.lead_id, latest.stage, latest.is_closed, latest.created_at,
        latest.stage_changed_at
),

opportunity_stalls as (
    select distinct
        rules.rule_id,
        people_nodes.person_id,
        current_stages.opportunity_id,
        current_stages.stage as opportunity_stage,
        case
            when current_stages.created_at
                > coalesce(current_stages.stage_changed_at, cast(current_stages.stage_shown_from as timestamp))
                then current_stages.created_at
            else coalesce(current_stages.stage_changed_at, cast(current_stages.stage_shown_from as timestamp))
        end as in_stage_since
    from current_stages
    inner join rules
        on rules.kind = 'opportunity_stage'
        and lower(current_stages.stage) like lower(rules.opportunity_stage_pattern)
    {{ join_lead_person('current_stages.lead_id') }}
    where not current_stages.is_closed
),

known_events as (
    select events.*
    from events
    cross join as_of
    where events.event_at <= as_of.as_of_at
        and events.person_id is not null
),

resolutions as (
    select
        known_events.person_id,
        rules.rule_id,
        max(known_events.event_at) as last_resolved_at
    from known_events
    inner join rules
        on rules.kind = 'repeated_without'
        and {{ funnel_event_condition('known_events', 'rules.resolve_event_type', 'rules.resolve_form_type',
                                      'rules.resolve_page_pattern', 'null') }}
    group by known_events.person_id, rules.rule_id
),

trigger_events as (
    -- the trigger events after the person's last resolution (several rows of a rule: once each)
    select distinct
        known_events.person_id,
        rules.rule_id,
        known_events.event_id,
        known_events.event_at
    from known_events
    inner join rules
        on rules.kind = 'repeated_without'
        and {{ funnel_event_condition('known_events', 'rules.event_type', 'rules.form_type', 'rules.page_pattern',
                                      'null') }}
    left join resolutions
        on resolutions.person_id = known_events.person_id
        and resolutions.rule_id = rules.rule_id
    where resolutions.last_resolved_at is null
        or known_events.event_at > resolutions.last_resolved_at
),

numbered_triggers as (
    select
        trigger_events.*,
        row_number() over (
            partition by trigger_events.person_id, trigger_events.rule_id
            order by trigger_events.event_at, trigger_events.event_id
        ) as trigger_number
    from trigger_events
),

behaviour_stalls as (
    select
        numbered_triggers.rule_id,
        numbered_triggers.person_id,
        cast(null as {{ sql_type('varchar') }}) as opportunity_id,
        cast(null as {{ sql_type('varchar') }}) as opportunity_stage,
        numbered_triggers.event_at as in_stage_since
    from numbered_triggers
    inner join rule_settings
        on rule_settings.rule_id = numbered_triggers.rule_id
    where numbered_triggers.trigger_number = coalesce(rule_settings.min_count, 1)
),

candidates as (
    select * from opportunity_stalls
    union all
    select * from behaviour_stalls
),

stalls as (
    select
        candidates.*,
        rule_settings.stage,
        rule_settings.max_hours,
        rule_settings.description,
        rule_settings.description_zh,
        {{ dbt.dateadd('second', 'cast(round(rule_settings.max_hours * 3600) as bigint)', 'candidates.in_stage_since') }}
            as stalled_at,
        {{ hours_between('candidates.in_stage_since', 'as_of.as_of_at') }} as hours_in_stage,
        as_of.as_of_at,
        as_of.interval_start_at
    from candidates
    inner join rule_settings
        on rule_settings.rule_id = candidates.rule_id
    cross join as_of
),

final as (
    -- the contract's casts of a stall row: the people columns it carries are people's own (read,
    -- not recomputed), so this select is alike in shape to people's final, not the same rule
    select
        cast(stalls.rule_id || ':' || stalls.person_id || coalesce(':' || stalls.opportunity_id, '') as {{ sql_type('varchar') }})
            as stall_id,
        cast(stalls.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(stalls.rule_id as {{ sql_type('varchar') }}) as rule_id,
        cast(stalls.stage as {{ sql_type('varchar') }}) as stage,
        cast(stalls.description as {{ sql_type('varchar') }}) as stall_reason,
        cast(stalls.description_zh as {{ sql_type('varchar') }}) as stall_reason_zh,
        cast(stalls.opportunity_id as {{ sql_type('varchar') }}) as opportunity_id,
        cast(stalls.opportunity_stage as {{ sql_type('varchar') }}) as opportunity_stage,
        cast(stalls.in_stage_since as timestamp) as in_stage_since,
        cast(stalls.stalled_at as timestamp) as stalled_at,
        cast(stalls.hours_in_stage as {{ sql_type('double precision') }}) as hours_in_stage,
        cast(stalls.max_hours as {{ sql_type('double precision') }}) as max_hours,
        stalls.stalled_at >= stalls.interval_start_at as became_stalled_in_interval,
        cast(stalls.as_of_at as timestamp) as as_of_at,
        people.email,
        people.phone,
        people.full_name,
        people.company,
        people.job_title,
        cast(coalesce(activation_leads.owner, people.owner) as {{ sql_type('varchar') }}) as owner,
        people.crm_lead_id,
        people.is_customer,
        people.is_unsubscribed,
        cast(lead_scores.lead_score as integer) as lead_score,
        cast(lead_scores.grade as {{ sql_type('varchar') }}) as grade,
        cast(lead_scores.score_reasons as {{ sql_type('varchar') }}) as score_reasons,
        cast(lead_scores.score_reasons_zh as {{ sql_type('varchar') }}) as score_reasons_zh,
        people.consent_chat_alert
    -- this model's own joins (on person_id): a join chain alike in shape only to other models', other relations
    from stalls
    inner join people
        on people.person_id = stalls.person_id
    left join activation_leads
        on activation_leads.person_id = stalls.person_id
    left join lead_scores
        on lead_scores.person_id = stalls.person_id
    where stalls.hours_in_stage > stalls.max_hours
        -- only chat alerts on stalls: consent to chat_alert (docs/privacy.md)
        and people.consent_chat_alert
)

select * from final
