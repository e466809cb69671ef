{#- Every CRM lead as each export showed it: one row per lead and export interval (the latest version
    within that interval: macros/versions.sql), renamed and cast. The base of stg_crm__leads (each
    lead's latest row). Incremental as the other staging models (docs/incremental.md, "CRM staging"):
    a daily run reads the window's partitions again, and the rows of partitions the lake no longer has
    go (pre_hook). last_modified_at is the export's own Last Modified Date (null when it has none), the
    first tie-break of the latest version; updated_at falls back to created_at. -#}
{{ lake_staging_config('crm', 'crm_leads', unique_key=['lead_id', '_interval_start']) }}

with
-- a CRM export's versions: the lake staging chain (lake_rows, latest_version, crm_version_select) with this entity's own columns

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('crm', 'crm_leads') }}
),

renamed as (
    select
        -- ids
        lead_id,

        -- person (macros/columns.sql, as a form submission has them)
        {{ person_columns() }},
        nullif(trim(region), '') as region,

        -- sales
        nullif(trim(owner), '') as owner,
        status,
        nullif(trim(lead_source), '') as lead_source,

        -- consent: the CRM's email opt-out checkbox (null: the export has no such column)
        {{ checkbox_value('email_opt_out') }} as has_opted_out_of_email,

        -- timestamps
        created_at,
        coalesce(updated_at, created_at) as updated_at,
        updated_at as last_modified_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from source
),

latest_per_export as (
    -- one version per record and export interval: macros/versions.sql, on the renamed and cast columns
    -- (the row's content breaks a tie, never its place in the file)
    {{ latest_version('renamed', ['lead_id', '_interval_start'], crm_version_content('leads'), newest_first=['last_modified_at']) }}
),

final as (
    {{ crm_version_select('leads', 'lead_id', 'latest_per_export') }}
)

select * from final
