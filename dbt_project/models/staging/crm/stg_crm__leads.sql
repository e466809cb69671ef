{#- The latest version of each CRM lead: the latest of its versions per export (stg_crm__lead_versions,
    already renamed and cast) by the one tie-break rule of macros/versions.sql, its own Last Modified
    Date first. Incremental per lead (docs/incremental.md, "CRM staging"): a daily run computes again
    only the leads with a version in the window or whose stored version was read again or purged. -#}
{{ crm_current_config('stg_crm__lead_versions', 'crm', 'crm_leads', 'lead_id') }}

with

versions as (
    {{ crm_versions_to_compute(ref('stg_crm__lead_versions'), 'lead_id') }}
),

latest as (
    {{ latest_version('versions', ['lead_id'], crm_version_content('leads'), newest_first=['last_modified_at']) }}
),

final as (
    -- the versions' columns named again to leave out last_modified_at and version_rank (a portable
    -- select has no `* exclude`); every rule stays in stg_crm__lead_versions
    select
        -- ids
        lead_id,

        -- person
        email,
        phone,
        phone_raw,
        full_name,
        company,
        job_title,
        industry,
        company_size,
        region,

        -- sales
        owner,
        status,
        lead_source,

        -- consent
        has_opted_out_of_email,

        -- timestamps
        created_at,
        updated_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from final
