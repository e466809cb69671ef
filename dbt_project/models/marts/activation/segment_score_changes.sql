{#- Leads whose score or grade changed during the interval (lead_score against previous_score, the
    score as of interval_start), among the people activation may contact: reachable by email, not a
    customer, not opted out or bounced. For CRM field updates and "cooling down" alerts; nothing is
    pushed from it yet. previous_grade is lead_scores' (the same basis as grade: points, or the
    model's probability when lead_scores.grade_basis says so), so a grade can change while the
    score does not. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

lead_scores as (
    select * from {{ ref('lead_scores') }}
),

people as (
    select * from {{ ref('people') }}
),

changed as (
    select
        lead_scores.person_id,
        people.email,
        people.full_name,
        people.company,
        lead_scores.previous_score,
        lead_scores.lead_score,
        coalesce(lead_scores.previous_grade, {{ grade_of('lead_scores.previous_score') }}) as previous_grade,
        lead_scores.grade,
        lead_scores.scored_at
    from lead_scores
    inner join people
        on people.person_id = lead_scores.person_id
    where (
            lead_scores.lead_score <> lead_scores.previous_score
            or lead_scores.grade <> coalesce(lead_scores.previous_grade, lead_scores.grade)
        )
        and {{ is_contactable('people') }}
        -- for CRM field updates: consent to crm_sync (docs/privacy.md)
        and people.consent_crm_sync
),

final as (
    -- the relation's column types, one cast a column: alike in shape only to other typed selects, other columns
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(email as {{ sql_type('varchar') }}) as email,
        cast(full_name as {{ sql_type('varchar') }}) as full_name,
        cast(company as {{ sql_type('varchar') }}) as company,
        cast(previous_score as integer) as previous_score,
        cast(lead_score as integer) as lead_score,
        cast(lead_score - previous_score as integer) as score_change,
        cast(previous_grade as {{ sql_type('varchar') }}) as previous_grade,
        cast(grade as {{ sql_type('varchar') }}) as grade,
        previous_grade <> grade as grade_changed,
        cast(scored_at as timestamp) as scored_at
    from changed
)

select * from final
