{#- The grade history the funnel reads its grade steps (mql) from: the daily snapshots of
    lead_score_trends (today's person ids), preceded by what was known before the daily history
    began: the score each CRM lead's person had when the lead was created (int_lead_scores_computed,
    score points 'lead:<id>', which every build recomputes from the events). Without them a
    warehouse's first run would date every existing high-intent lead's mql to that first snapshot,
    after opportunities it already had. Lead points on or after the first snapshot add nothing the
    snapshots do not say and are left out. -#}
with

trends as (
    select * from {{ ref('lead_score_trends') }}
),

lead_points as (
    select * from {{ ref('int_lead_scores_computed') }}
    where score_point like 'lead:%'
),

history_start as (
    select min(scored_at) as first_scored_at from trends
),

before_history as (
    select
        cast(lead_points.as_of_at as date) as snapshot_date,
        lead_points.person_id,
        lead_points.person_id as snapshot_person_id,
        {{ grade_of('lead_points.lead_score') }} as grade,
        lead_points.as_of_at as scored_at
    from lead_points
    cross join history_start
    where history_start.first_scored_at is null or lead_points.as_of_at < history_start.first_scored_at
),

final as (
    select
        cast(snapshot_date as date) as snapshot_date,
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(snapshot_person_id as {{ sql_type('varchar') }}) as snapshot_person_id,
        cast(grade as {{ sql_type('varchar') }}) as grade,
        cast(scored_at as timestamp) as scored_at
    from (
        select snapshot_date, person_id, snapshot_person_id, grade, scored_at from trends
        union all
        select snapshot_date, person_id, snapshot_person_id, grade, scored_at from before_history
    ) as history
)

select * from final
