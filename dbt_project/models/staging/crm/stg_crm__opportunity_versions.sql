{#- Every CRM opportunity as each export showed it: one row per opportunity and export interval
    (the latest version within that interval: macros/versions.sql). The base of
    stg_crm__opportunities (its latest version) and the history segment_funnel_stalls reads: since
    when an opportunity is in its stage is the export's stage_changed_at (Salesforce's Last Stage
    Change Date) where it has one, else what the history of exports tells. Incremental as the other
    staging models (docs/incremental.md, "CRM staging"): a daily run reads the window's partitions
    again, and the rows of partitions the lake no longer has go (pre_hook). -#}
{{ lake_staging_config('crm', 'crm_opportunities', unique_key=['opportunity_id', '_interval_start']) }}

with
-- a CRM export's versions: the lake staging chain (lake_rows, latest_version, crm_version_select) with this entity's own columns

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('crm', 'crm_opportunities') }}
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
        stage_changed_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from source
),

latest_per_export as (
    -- one version per record and export interval: macros/versions.sql, on the renamed and cast columns
    -- (the row's content breaks a tie, never its place in the file)
    {{ latest_version('renamed', ['opportunity_id', '_interval_start'], crm_version_content('opportunities')) }}
),

final as (
    {{ crm_version_select('opportunities', 'opportunity_id', 'latest_per_export') }}
)

select * from final
