{#- Every CRM order as each export showed it: one row per order and export interval (the latest row
    within that interval: macros/versions.sql), renamed and cast. The base of stg_crm__orders (each
    order's latest row). Incremental as the other staging models (docs/incremental.md, "CRM staging"):
    a daily run reads the window's partitions again, and the rows of partitions the lake no longer has
    go (pre_hook). -#}
{{ lake_staging_config('crm', 'crm_orders', unique_key=['order_id', '_interval_start']) }}

with
-- a CRM export's versions: the lake staging chain (lake_rows, latest_version, crm_version_select) with this entity's own columns

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('crm', 'crm_orders') }}
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
    from source
),

latest_per_export as (
    -- one version per record and export interval: macros/versions.sql, on the renamed and cast columns
    -- (the row's content breaks a tie, never its place in the file)
    {{ latest_version('renamed', ['order_id', '_interval_start'], crm_version_content('orders')) }}
),

final as (
    {{ crm_version_select('orders', 'order_id', 'latest_per_export') }}
)

select * from final
