{#- A daily snapshot of every person's score: one row per snapshot_date and person, appended by each
    run (the day before interval_end: a run for the interval [2026-11-22, 2026-11-23) writes
    2026-11-22). Incremental, delete+insert on snapshot_date, so a re-run of a day replaces that
    day's rows and never duplicates them, and full_refresh is off so `dbt build --full-refresh`
    cannot wipe the history. "First crossed 60 on day D", trends and the funnel of grades are
    queries on it (README, "Scoring"). -#}
{{ kept_history_config(unique_key='snapshot_date') }}
with

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

final as (
    select
        cast({{ dbt.dateadd('second', -1, 'scored_at') }} as date) as snapshot_date,
        person_id,
        lead_score,
        grade,
        fit_score,
        engagement_score,
        intent_matrix_cell,
        score_reasons,
        conversion_probability,
        conversion_model_version,
        scored_at,
        -- what grade was cut on that day (appended columns: older snapshots hold null)
        grade_basis,
        rule_grade
    from lead_scores
)

select * from final
