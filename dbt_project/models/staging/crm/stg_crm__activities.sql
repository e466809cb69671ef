with

source as (
    select * from {{ source('crm', 'crm_activities') }}
),

versions as (
    -- every CRM export repeats the history: the latest export of an activity wins
    select
        source.*,
        row_number() over (
            partition by activity_id
            order by _interval_start desc, _loaded_at desc, _row_number desc
        ) as version_rank
    from source
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
    from versions
    where version_rank = 1
)

select * from renamed
