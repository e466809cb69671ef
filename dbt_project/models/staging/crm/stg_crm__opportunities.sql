with

source as (
    select * from {{ source('crm', 'crm_opportunities') }}
),

versions as (
    -- every CRM export repeats the history: the latest export of an opportunity wins
    select
        source.*,
        row_number() over (
            partition by opportunity_id
            order by _interval_start desc, _loaded_at desc, closed_at desc nulls last, _row_number desc
        ) as version_rank
    from source
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
        amount,
        currency,

        -- timestamps
        created_at,
        closed_at,

        -- lineage
        _source_file,
        _row_number,
        _loaded_at,
        _batch_id,
        _interval_start
    from versions
    where version_rank = 1
)

select * from renamed
