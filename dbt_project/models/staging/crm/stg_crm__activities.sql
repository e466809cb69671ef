{#- The latest export of each CRM activity: the latest of its versions per export
    (stg_crm__activity_versions) by the one tie-break rule of macros/versions.sql. Incremental per
    activity (docs/incremental.md, "CRM staging"): a daily run computes again only the activities with
    a version in the window or whose stored version was read again or purged. -#}
{{ crm_current_config('stg_crm__activity_versions', 'crm', 'crm_activities', 'activity_id') }}

with
-- a CRM record's current state: one rule in macros (crm_versions_to_compute, latest_version); only the names differ

versions as (
    {{ crm_versions_to_compute(ref('stg_crm__activity_versions'), 'activity_id') }}
),

latest as (
    {{ latest_version('versions', ['activity_id'], crm_version_content('activities')) }}
),

final as (
    -- named again to leave latest_version's version_rank out (a portable select has no `* exclude`)
    select
        -- ids
        activity_id,
        lead_id,

        -- activity
        activity_type,
        subject,
        owner,

        -- outcome
        outcome,
        outcome_result,

        -- timestamps
        activity_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from final
