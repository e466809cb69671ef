{#- The latest version of each CRM opportunity: the latest of its versions per export
    (stg_crm__opportunity_versions, same source, already renamed and cast) by the one tie-break
    rule of macros/versions.sql. Incremental per opportunity (docs/incremental.md, "CRM staging"): a
    daily run computes again only the opportunities with a version in the window or whose stored
    version was read again or purged. -#}
{{ crm_current_config('stg_crm__opportunity_versions', 'crm', 'crm_opportunities', 'opportunity_id') }}

with
-- a CRM record's current state: one rule in macros (crm_versions_to_compute, latest_version); only the names differ

versions as (
    {{ crm_versions_to_compute(ref('stg_crm__opportunity_versions'), 'opportunity_id') }}
),

latest as (
    {{ latest_version('versions', ['opportunity_id'], crm_version_content('opportunities')) }}
),

final as (
    -- the versions' columns named again only to leave latest_version's version_rank out: a portable
    -- select has no `* exclude` (Postgres); every rule stays in stg_crm__opportunity_versions
    select
        -- ids
        opportunity_id,
        lead_id,

        -- deal
        opportunity_name,
        stage,
        is_closed,
        is_won,
        amount,
        currency,

        -- timestamps
        created_at,
        closed_at,
        stage_changed_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from final
