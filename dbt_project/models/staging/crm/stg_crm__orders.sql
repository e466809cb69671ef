{#- The latest export of each CRM order: the latest of its versions per export (stg_crm__order_versions)
    by the one tie-break rule of macros/versions.sql. Incremental per order (docs/incremental.md, "CRM
    staging"): a daily run computes again only the orders with a version in the window or whose stored
    version was read again or purged. -#}
{{ crm_current_config('stg_crm__order_versions', 'crm', 'crm_orders', 'order_id') }}

with
-- a CRM record's current state: one rule in macros (crm_versions_to_compute, latest_version); only the names differ

versions as (
    {{ crm_versions_to_compute(ref('stg_crm__order_versions'), 'order_id') }}
),

latest as (
    {{ latest_version('versions', ['order_id'], crm_version_content('orders')) }}
),

final as (
    -- named again to leave latest_version's version_rank out (a portable select has no `* exclude`)
    select
        -- ids
        order_id,
        lead_id,

        -- order
        amount,
        currency,

        -- person
        email,

        -- timestamps
        ordered_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from final
