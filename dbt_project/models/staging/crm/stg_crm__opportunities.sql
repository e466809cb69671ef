{#- The latest version of each CRM opportunity: the latest of its versions per export
    (stg_crm__opportunity_versions, same source, already renamed and cast) by the one tie-break
    rule of macros/versions.sql. -#}
with

versions as (
    select * from {{ ref('stg_crm__opportunity_versions') }}
),

latest as (
    {{ latest_version('versions', ['opportunity_id']) }}
),

final as (
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

        -- lineage
        _source_file,
        _row_number,
        _loaded_at,
        _batch_id,
        _interval_start
    from latest
)

select * from final
