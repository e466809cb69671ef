{#- One row per person and purpose the person left evidence for (int_consent_evidence): the latest
    evidence decides; on a tie a withdrawal wins over a grant (better not contact than contact
    against someone's wish). People without evidence for a purpose have no row: the purpose's
    default (var consent_defaults) applies, in marts.people and marts.person_consent. -#}
with

evidence as (
    select * from {{ ref('int_consent_evidence') }}
),

ranked as (
    select
        evidence.*,
        row_number() over (
            partition by person_id, purpose
            order by evidence_at desc, case when is_granted then 1 else 0 end, evidence_source, evidence_id
        ) as evidence_rank,
        count(*) over (partition by person_id, purpose) as evidence_count
    from evidence
),

final as (
    select
        person_id,
        purpose,
        is_granted,
        evidence_source,
        evidence_id,
        evidence_at,
        cast(evidence_count as integer) as evidence_count
    from ranked
    where evidence_rank = 1
)

select * from final
