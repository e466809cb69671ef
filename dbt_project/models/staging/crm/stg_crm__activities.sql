with

source as (
    select * from {{ source('crm', 'crm_activities') }}
),

latest as (
    -- every CRM export repeats the history: the latest export of an activity wins (macros/versions.sql)
    {{ latest_version('source', ['activity_id']) }}
),

renamed as (
    select
        -- ids
        activity_id,
        nullif(trim(lead_id), '') as lead_id,

        -- activity
        lower(trim(activity_type)) as activity_type,
        subject,
        owner,

        -- timestamps
        activity_at,

        -- lineage
        _source_file,
        _row_number,
        _loaded_at,
        _batch_id,
        _interval_start
    from latest
)

select * from renamed
