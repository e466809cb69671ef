{#- Who owns each high-intent lead. A lead the CRM already has an owner for keeps that owner
    (routing never takes a lead away from a salesperson). Any other lead is routed once, when it
    first reaches high intent: the first rule of the seed lead_routing_rules by priority whose
    region, industry and product line patterns match (the product line: int_person_product_lines,
    the line whose pages the person read most) gives the team, and the owner when the rule names one;
    otherwise the team's active members (seed sales_teams, ordered by owner) take turns. The
    rotation continues from run to run: this model is incremental and never rebuilt
    (full_refresh false), so a lead keeps its owner, and the n-th lead ever routed to a team of k
    members goes to member (n - 1) mod k.

    Recycling: a lead routing assigned (round_robin or rule_owner) that nobody followed up — no CRM
    activity (stg_crm__activities) on any of the person's CRM leads since assigned_at — once
    var lead_follow_up_sla_hours (24) have passed by interval_end, and that is still high intent,
    goes to the next active member of its team (by owner order, after the current one; the same
    owner when the team has one member) with recycled_from_owner, recycled_at = interval_end and
    recycle_count 1. Once only: a recycled lead is never recycled again, and a lead the CRM owns
    is never taken away. Recycling does not count as a round-robin turn. Only a lead whose owner
    was told is recycled, and the SLA is counted from when they were told: told_at is when a chat
    robot first delivered the lead's first alert (int_leads_told: the activation history, under the
    lead's id or an id merged into it; the end of the interval whose activation delivered it), alerted
    is told_at is not null. An alert held back (a late delivery of an older day), failed,
    dead-lettered, in doubt, written to an outbox, or never made (hot before the first run, not
    contactable, no consent to chat alerts) tells nobody: nobody blames an owner who was never told.
    A lead is told by the activation after the build that routes it, so the next build sets told_at
    (the activation history it reads is the activations' before it). Rows written before told_at
    existed are told when the history says so (their alerted is not read).

    One owner truth: this model decides, int_activation_leads (and so the segments, chat and the
    CRMs) reads it. When a salesperson gives the lead to someone else in the CRM (people.owner is
    set and is neither this owner nor the one a recycling took it from), the row follows the CRM:
    owner = the CRM's, assignment_source crm_owner, no CRM owner id (never pushed over theirs).

    Identity merges (int_identity_merged_ids): a person whose merged-away ids were assigned takes
    one assignment over from among its own and theirs, by this rule: a crm_owner assignment first
    (never take a lead from the salesperson the CRM names), then the earliest assigned_at (the
    salesperson who had the lead first), then the surviving id's own. A merged-away id's row stays
    as it was (no lead score reads it any more). -#}
{{ kept_history_config(unique_key='person_id') }}
{#- a warehouse built before recycling existed has no recycle_count yet (append_new_columns adds it
    when this run inserts): read it only where it is (in a unit test `this` is a fixture, not a table) -#}
{%- set recycle_count = 'coalesce(assigned.recycle_count, 0)' -%}
{%- set told_at = 'assigned.told_at' -%}
{%- set recycled_from = 'assigned.recycled_from_owner' -%}
{%- set recycled_at = 'assigned.recycled_at' -%}
{%- if is_incremental() and this is not string -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'recycle_count' not in existing -%}
        {%- set recycle_count = '0' -%}
        {%- set recycled_from = 'cast(null as ' ~ sql_type('varchar') ~ ')' -%}
        {%- set recycled_at = 'cast(null as timestamp)' -%}
    {%- endif -%}
    {%- if 'told_at' not in existing -%}
        {%- set told_at = 'cast(null as timestamp)' -%}
    {%- endif -%}
{%- endif %}
{#- an assigned row's columns after its person_id, as every branch from `this` keeps them -#}
{%- set assignment_columns -%}
        assigned.team,
        assigned.owner,
        assigned.crm_owner_id,
        assigned.routing_rule_priority as priority,
        assigned.assignment_source,
        {{ recycled_from }} as recycled_from_owner,
        {{ recycle_count }} as recycle_count,
        {{ recycled_at }} as recycled_at,
        assigned.assigned_at
{%- endset %}
-- refs used only in an incremental run, declared so dbt orders the build:
-- depends_on: {{ ref('stg_crm__activities') }}
-- depends_on: {{ ref('int_people_resolved') }}
-- depends_on: {{ ref('int_identity_merged_ids') }}
with

lead_scores as (
    select * from {{ ref('lead_scores') }}
    where grade = 'high_intent'
),

people as (
    select * from {{ ref('people') }}
),

rules as (
    -- an empty cell is "any" (and no named owner), whether the CSV gives null or ''
    select
        priority,
        lower(nullif(trim(region_pattern), '')) as region_pattern,
        lower(nullif(trim(industry_pattern), '')) as industry_pattern,
        lower(nullif(trim(product_line_pattern), '')) as product_line_pattern,
        team,
        nullif(trim(owner), '') as owner
    from {{ ref('lead_routing_rules') }}
),

-- the leads a chat robot told, under the surviving person (its own id's first alert or an id merged
-- into it): the first delivery counts
told as (
    select
        coalesce(merged.person_id, leads_told.person_id) as person_id,
        min(leads_told.told_at) as told_at
    from {{ ref('int_leads_told') }} as leads_told
    left join {{ ref('int_identity_merged_ids') }} as merged
        on merged.merged_person_id = leads_told.person_id
    group by coalesce(merged.person_id, leads_told.person_id)
),

members as (
    select
        team,
        owner,
        crm_owner_id,
        row_number() over (partition by team order by owner) - 1 as member_index,
        count(*) over (partition by team) as team_size
    from {{ ref('sales_teams') }}
    where is_active
),

new_leads as (
    select
        lead_scores.person_id,
        lead_scores.scored_at,
        people.owner as crm_owner,
        lower(coalesce(people.region, '')) as region,
        lower(coalesce(people.industry, '')) as industry,
        products.product_line
    from lead_scores
    inner join people
        on people.person_id = lead_scores.person_id
    left join {{ ref('int_person_product_lines') }} as products
        on products.person_id = lead_scores.person_id
    {%- if is_incremental() %}
    where lead_scores.person_id not in (select person_id from {{ this }})
        -- a person merged with an assigned id takes that assignment over (merge_candidates, below)
        and lead_scores.person_id not in (
            select merged.person_id
            from {{ ref('int_identity_merged_ids') }} as merged
            inner join {{ this }} as assigned
                on assigned.person_id = merged.merged_person_id
        )
    {%- endif %}
),

matched as (
    select
        new_leads.*,
        rules.team,
        rules.owner as rule_owner,
        rules.priority,
        row_number() over (partition by new_leads.person_id order by rules.priority) as rule_rank
    from new_leads
    inner join rules
        on (rules.region_pattern is null or new_leads.region like rules.region_pattern)
        and (rules.industry_pattern is null or new_leads.industry like rules.industry_pattern)
        and (
            rules.product_line_pattern is null
            or lower(coalesce(new_leads.product_line, '')) like rules.product_line_pattern
        )
),

routed as (
    select *
    from matched
    where rule_rank = 1
        and crm_owner is null
        and rule_owner is null
),

turns_taken as (
    {%- if is_incremental() %}
    select team, count(*) as routed_before
    from {{ this }}
    where assignment_source = 'round_robin'
    group by team
    {%- else %}
    select cast(null as {{ sql_type('varchar') }}) as team, 0 as routed_before
    where 1 = 0
    {%- endif %}
),

rotated as (
    select
        routed.person_id,
        routed.team,
        routed.priority,
        (
            coalesce(turns_taken.routed_before, 0)
            + row_number() over (partition by routed.team order by routed.scored_at, routed.person_id)
            - 1
        ) as turn
    from routed
    left join turns_taken
        on turns_taken.team = routed.team
),

round_robin as (
    select
        rotated.person_id,
        rotated.team,
        members.owner,
        members.crm_owner_id,
        rotated.priority,
        'round_robin' as assignment_source
    from rotated
    inner join members
        on members.team = rotated.team
        and members.member_index = mod(rotated.turn, members.team_size)
),

named as (
    select
        matched.person_id,
        matched.team,
        matched.rule_owner as owner,
        members.crm_owner_id,
        matched.priority,
        'rule_owner' as assignment_source
    from matched
    left join members
        on members.team = matched.team
        and members.owner = matched.rule_owner
    where matched.rule_rank = 1
        and matched.crm_owner is null
        and matched.rule_owner is not null
),

{%- if is_incremental() %}

activities as (
    select
        people_nodes.person_id,
        activities.activity_at
    from {{ ref('stg_crm__activities') }} as activities
    {{ join_lead_person('activities.lead_id', relation=ref('int_people_resolved')) }}
),

-- a salesperson gave the lead to someone else in the CRM: the CRM's owner, never pushed over
crm_takeovers as (
    select
        assigned.person_id,
        assigned.team,
        people.owner,
        cast(null as {{ sql_type('varchar') }}) as crm_owner_id,
        assigned.routing_rule_priority as priority,
        'crm_owner' as assignment_source,
        {{ recycled_from }} as recycled_from_owner,
        {{ recycle_count }} as recycle_count,
        {{ recycled_at }} as recycled_at,
        assigned.assigned_at,
        {{ told_at }} as told_at
    from {{ this }} as assigned
    inner join people
        on people.person_id = assigned.person_id
    where people.owner is not null
        and people.owner <> assigned.owner
        and ({{ recycled_from }} is null or people.owner <> {{ recycled_from }})
),

-- each survivor of a merge with each of its ids: its merged-away ones and its own
merge_members as (
    select person_id, merged_person_id as member_id
    from {{ ref('int_identity_merged_ids') }}
    union
    select person_id, person_id as member_id
    from {{ ref('int_identity_merged_ids') }}
),

-- a merge: the survivor's own assignment and its merged-away ids', ranked by the rule above
merge_candidates as (
    select
        members.person_id,
        {{ assignment_columns }},
        {{ told_at }} as told_at,
        case when members.member_id = members.person_id then 0 else 1 end as is_merged_away
    from merge_members as members
    inner join lead_scores
        on lead_scores.person_id = members.person_id
    inner join {{ this }} as assigned
        on assigned.person_id = members.member_id
),

merge_ranked as (
    select
        *,
        row_number() over (
            partition by person_id
            order by case when assignment_source = 'crm_owner' then 0 else 1 end, assigned_at, is_merged_away, owner
        ) as merge_rank
    from merge_candidates
),

-- only where the merge changes the survivor's row (its own row ranked first changes nothing)
inherited as (
    select
        person_id, team, owner, crm_owner_id, priority, assignment_source, recycled_from_owner,
        recycle_count, recycled_at, assigned_at, told_at
    from merge_ranked
    where merge_rank = 1
        and is_merged_away = 1
        and person_id not in (select person_id from crm_takeovers)
),

-- the SLA runs from when the owner was told (told_at; a told lead of unknown time: from assigned_at)
overdue as (
    select
        assigned.*,
        coalesce({{ told_at }}, told.told_at, assigned.assigned_at) as told_at_now
    from {{ this }} as assigned
    inner join lead_scores
        on lead_scores.person_id = assigned.person_id
    left join told
        on told.person_id = assigned.person_id
    where assigned.assignment_source in ('round_robin', 'rule_owner')
        and {{ recycle_count }} = 0
        and ({{ told_at }} is not null or told.person_id is not null)
        and assigned.person_id not in (select person_id from crm_takeovers)
        and assigned.person_id not in (select person_id from inherited)
        and assigned.team is not null
        and {{ dbt.dateadd(
            'hour', var('lead_follow_up_sla_hours'),
            'greatest(assigned.assigned_at, coalesce(' ~ told_at ~ ', told.told_at, assigned.assigned_at))'
        ) }} <= {{ interval_end_at(ref('int_events_unified')) }}
        and not exists (
            select 1
            from activities
            where activities.person_id = assigned.person_id
                and activities.activity_at >= assigned.assigned_at
        )
),

recycled as (
    select
        overdue.person_id,
        overdue.team,
        next_member.owner,
        next_member.crm_owner_id,
        overdue.routing_rule_priority as priority,
        overdue.assignment_source,
        overdue.owner as recycled_from_owner,
        1 as recycle_count,
        {{ interval_end_at(ref('int_events_unified')) }} as recycled_at,
        overdue.assigned_at,
        overdue.told_at_now as told_at
    from overdue
    left join members as current_member
        on current_member.team = overdue.team
        and current_member.owner = overdue.owner
    inner join members as next_member
        on next_member.team = overdue.team
        and next_member.member_index
            = mod(coalesce(current_member.member_index + 1, 0), next_member.team_size)
),

-- told since the last build, nothing else changed: the row again with told_at
told_now as (
    select
        assigned.person_id,
        {{ assignment_columns }},
        coalesce(told.told_at, assigned.assigned_at) as told_at
    from {{ this }} as assigned
    inner join told
        on told.person_id = assigned.person_id
    where {{ told_at }} is null
        and assigned.person_id not in (select person_id from recycled)
        and assigned.person_id not in (select person_id from crm_takeovers)
        and assigned.person_id not in (select person_id from inherited)
),
{%- endif %}

kept as (
    select distinct
        person_id,
        cast(null as {{ sql_type('varchar') }}) as team,
        crm_owner as owner,
        cast(null as {{ sql_type('varchar') }}) as crm_owner_id,
        cast(null as integer) as priority,
        'crm_owner' as assignment_source
    from new_leads
    where crm_owner is not null
),

routed_now as (
    -- the columns in the order of recycled, crm_takeovers and inherited (unioned by position)
    select
        person_id,
        team,
        owner,
        crm_owner_id,
        priority,
        assignment_source,
        cast(null as {{ sql_type('varchar') }}) as recycled_from_owner,
        0 as recycle_count,
        cast(null as timestamp) as recycled_at,
        {{ interval_end_at(ref('int_events_unified')) }} as assigned_at,
        cast(null as timestamp) as told_at
    from (
        select * from round_robin
        union all
        select * from named
        union all
        select * from kept
    ) as assignments
),

final as (
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(team as {{ sql_type('varchar') }}) as team,
        cast(owner as {{ sql_type('varchar') }}) as owner,
        cast(crm_owner_id as {{ sql_type('varchar') }}) as crm_owner_id,
        cast(priority as integer) as routing_rule_priority,
        cast(assignment_source as {{ sql_type('varchar') }}) as assignment_source,
        -- when the lead was first assigned (kept when it is recycled: the SLA is counted from here)
        cast(assigned_at as timestamp) as assigned_at,
        cast(recycled_from_owner as {{ sql_type('varchar') }}) as recycled_from_owner,
        cast(recycle_count as integer) as recycle_count,
        cast(recycled_at as timestamp) as recycled_at,
        -- the owner was told (a chat robot delivered the lead's first alert) and when: the SLA's start
        cast(told_at is not null as boolean) as alerted,
        cast(told_at as timestamp) as told_at
    from (
        select * from routed_now
        {%- if is_incremental() %}
        union all
        select * from recycled
        union all
        select * from crm_takeovers
        union all
        select * from inherited
        union all
        select * from told_now
        {%- endif %}
    ) as assignments
)

select * from final
