{#- The points in time people are scored at, one row per person and point:
      current      every person as of var interval_end (the score activation and BI read)
      previous     every person as of var interval_start (to tell who crossed the threshold)
      lead:<id>    a CRM lead's person as of the moment the lead was created: the closed-loop
                   report and the conversion model's training examples look at what was known then
    Without the vars: the latest event timestamp in the data and a day before it
    (macros/scoring_interval.sql); never the wall clock. -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

interval_points as (
    select
        'current' as score_point,
        {{ interval_end_at('events') }} as as_of_at
    union all
    select
        'previous' as score_point,
        {{ interval_start_at('events') }} as as_of_at
),

people as (
    select distinct person_id from people_nodes
),

lead_points as (
    select
        people_nodes.person_id,
        'lead:' || leads.lead_id as score_point,
        {{ dbt.dateadd('day', var('lead_observation_days'), 'leads.created_at') }} as as_of_at
    from leads
    inner join people_nodes
        on people_nodes.node_key = {{ node_key('crm_lead', 'leads.lead_id') }}
    where {{ dbt.dateadd('day', var('lead_observation_days'), 'leads.created_at') }} <= {{ interval_end_at('events') }}
),

final as (
    select
        people.person_id,
        interval_points.score_point,
        interval_points.as_of_at
    from people
    cross join interval_points
    union all
    select
        person_id,
        score_point,
        as_of_at
    from lead_points
)

select * from final
