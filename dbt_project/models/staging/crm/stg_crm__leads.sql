with

source as (
    select * from {{ source('crm', 'crm_leads') }}
),

latest as (
    -- every CRM export repeats the history: the latest Last Modified Date, then the latest
    -- export (macros/versions.sql)
    {{ latest_version('source', ['lead_id'], newest_first=['updated_at']) }}
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

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from latest
)

select * from renamed
