with

source as (
    select * from {{ source('crm', 'crm_orders') }}
),

latest as (
    -- every CRM export repeats the history: the latest export of an order wins (macros/versions.sql)
    {{ latest_version('source', ['order_id']) }}
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
    from latest
)

select * from renamed
