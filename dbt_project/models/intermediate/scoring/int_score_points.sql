{#- The points in time people are scored at, one row per person and point:
      current      every person as of var interval_end (the score activation and BI read)
      previous     every person as of var interval_start (to tell who crossed the threshold)
      lead:<id>    a CRM lead's person var lead_observation_days after the lead was created: the
                   closed-loop report and the conversion model's training examples look at what was
                   known then
      snap<d>:<id> the same lead d days after its creation, for every d of var lead_snapshot_days
                   greater than lead_observation_days: more training examples of the model, each
                   of a lead at another age (int_lead_snapshot_examples labels them); never
                   reported, never in the closed loop
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
    {{ join_lead_person('leads.lead_id') }}
    where {{ dbt.dateadd('day', var('lead_observation_days'), 'leads.created_at') }} <= {{ interval_end_at('events') }}
),

snapshot_points as (
    {%- set days = var('lead_snapshot_days', []) | select('gt', var('lead_observation_days')) | list %}
    {%- for day in days %}
    select
        people_nodes.person_id,
        'snap{{ day }}:' || leads.lead_id as score_point,
        {{ dbt.dateadd('day', day, 'leads.created_at') }} as as_of_at
    from leads
    {{ join_lead_person('leads.lead_id') }}
    where {{ dbt.dateadd('day', day, 'leads.created_at') }} <= {{ interval_end_at('events') }}
    {{ 'union all' if not loop.last }}
    {%- else %}
    select
        cast(null as {{ sql_type('varchar') }}) as person_id,
        cast(null as {{ sql_type('varchar') }}) as score_point,
        cast(null as timestamp) as as_of_at
    where false
    {%- endfor %}
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
    union all
    select
        person_id,
        score_point,
        as_of_at
    from snapshot_points
)

select * from final
