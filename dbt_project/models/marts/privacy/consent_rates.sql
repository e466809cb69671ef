{#- The consent rate per purpose: how many people may be processed for it, and on what basis. -#}
with

person_consent as (
    select * from {{ ref('person_consent') }}
),

final as (
    select
        purpose,
        cast(count(*) as bigint) as people,
        cast(sum(case when is_granted then 1 else 0 end) as bigint) as people_granted,
        cast(sum(case when basis = 'consent' then 1 else 0 end) as bigint) as people_consented,
        cast(sum(case when basis = 'withdrawn' then 1 else 0 end) as bigint) as people_withdrawn,
        cast(sum(case when basis = 'default' then 1 else 0 end) as bigint) as people_by_default,
        cast(
            sum(case when is_granted then 1 else 0 end) * 1.0 / nullif(count(*), 0) as {{ sql_type('double precision') }}) as consent_rate
    from person_consent
    group by purpose
)

select * from final
