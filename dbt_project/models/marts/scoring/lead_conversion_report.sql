{#- The closed loop: how CRM leads converted by the grade and the score band they had when they
    were created, per month of creation (period 'YYYY-MM') and over all months (period 'all').
    Only leads whose conversion window has closed (label_complete) count. score_band b holds scores
    b..b+9 (-20 and below in -20, 100 and above in 100). -#}
with

examples as (
    select * from {{ ref('lead_conversion_examples') }}
    where label_complete
),

labelled as (
    select
        {{ dbt.concat(["cast(extract(year from lead_month) as " ~ sql_type('varchar') ~ ")", "'-'",
            "lpad(cast(extract(month from lead_month) as " ~ sql_type('varchar') ~ "), 2, '0')"]) }} as period,
        grade_at_creation,
        cast(score_band as {{ sql_type('varchar') }}) as score_band,
        case when converted then 1 else 0 end as converted
    from examples
),

by_dimension as (
    select period, 'grade' as dimension, grade_at_creation as bucket, converted from labelled
    union all
    select 'all', 'grade', grade_at_creation, converted from labelled
    union all
    select period, 'score_band', score_band, converted from labelled
    union all
    select 'all', 'score_band', score_band, converted from labelled
),

final as (
    select
        cast(period as {{ sql_type('varchar') }}) as period,
        cast(dimension as {{ sql_type('varchar') }}) as dimension,
        cast(bucket as {{ sql_type('varchar') }}) as bucket,
        cast(count(*) as integer) as leads,
        cast(sum(converted) as integer) as conversions,
        cast(sum(converted) * 1.0 / count(*) as {{ sql_type('double precision') }}) as conversion_rate
    from by_dimension
    group by 1, 2, 3
)

select * from final
