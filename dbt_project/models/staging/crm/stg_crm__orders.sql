with

source as (
    select * from {{ source('crm', 'crm_orders') }}
),

versions as (
    -- every CRM export repeats the history: the latest export of an order wins
    select
        source.*,
        row_number() over (
            partition by order_id
            order by _interval_start desc, _loaded_at desc, _row_number desc
        ) as version_rank
    from source
),

renamed as (
    select
        -- ids
        order_id,
        nullif(trim(lead_id), '') as lead_id,

        -- order
        amount,
        currency,

        -- person
        nullif(trim(email), '') as email,

        -- timestamps
        ordered_at,

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
