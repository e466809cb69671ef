{#- Every CRM opportunity as each export showed it: one row per opportunity and export interval
    (the last row of that interval's export). Since when an opportunity is in its stage
    (marts.segment_funnel_stalls) is the export's stage_changed_at (Salesforce's Last Stage Change
    Date) where it has one, else what the history of exports tells. -#}
with

source as (
    select * from {{ source('crm', 'crm_opportunities') }}
),

versions as (
    select
        source.*,
        row_number() over (
            partition by opportunity_id, _interval_start
            order by _loaded_at desc, _row_number desc
        ) as version_rank
    from source
    where opportunity_id is not null
),

renamed as (
    select
        -- ids
        opportunity_id,
        nullif(trim(lead_id), '') as lead_id,

        -- deal
        opportunity_name,
        stage,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,

        -- timestamps
        created_at,
        closed_at,
        stage_changed_at,

        -- lineage
        _interval_start,
        _loaded_at
    from versions
    where version_rank = 1
)

select * from renamed
