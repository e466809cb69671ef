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

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from renamed
