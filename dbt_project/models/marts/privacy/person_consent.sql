{#- One row per person and purpose: whether the person may be processed for it, on what basis and
    from which evidence (docs/privacy.md). basis: consent (their latest evidence grants it),
    withdrawn (their latest evidence refuses it: an unsubscribe, a CRM opt-out, a manual record),
    default (no evidence: var consent_defaults). The columns consent_<purpose> of marts.people hold
    the same decision, one column per purpose, for the segments to filter on. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

people as (
    select * from {{ ref('people') }}
),

decided as (
    select * from {{ ref('int_consent_decided') }}
),

purposes as (
    {%- for purpose in consent_purposes() %}
    select '{{ purpose }}' as purpose, {{ consent_default(purpose) }} as default_granted
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select
        cast(people.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(purposes.purpose as {{ sql_type('varchar') }}) as purpose,
        coalesce(decided.is_granted, purposes.default_granted) as is_granted,
        cast(
            case
                when decided.person_id is null then 'default'
                when decided.is_granted then 'consent'
                else 'withdrawn'
            end as {{ sql_type('varchar') }}) as basis,
        cast(decided.evidence_source as {{ sql_type('varchar') }}) as evidence_source,
        cast(decided.evidence_id as {{ sql_type('varchar') }}) as evidence_id,
        cast(decided.evidence_at as timestamp) as evidence_at,
        cast(coalesce(decided.evidence_count, 0) as integer) as evidence_count
    from people
    cross join purposes
    left join decided
        on decided.person_id = people.person_id
        and decided.purpose = purposes.purpose
)

select * from final
