with

source as (
    select * from {{ source('crm', 'crm_leads') }}
),

versions as (
    -- every CRM export repeats the history: the latest version of a lead is the one to keep
    select
        source.*,
        row_number() over (
            partition by lead_id
            order by updated_at desc nulls last, _interval_start desc, _loaded_at desc, _row_number desc
        ) as version_rank
    from source
),

renamed as (
    select
        -- ids
        lead_id,

        -- person
        nullif(trim(email), '') as email,
        nullif(trim(phone), '') as phone,
        phone_raw,
        nullif(trim(full_name), '') as full_name,
        nullif(trim(company), '') as company,
        nullif(trim(job_title), '') as job_title,
        nullif(trim(industry), '') as industry,
        nullif(trim(company_size), '') as company_size,
        nullif(trim(region), '') as region,

        -- sales
        nullif(trim(owner), '') as owner,
        status,
        nullif(trim(lead_source), '') as lead_source,

        -- timestamps
        created_at,
        coalesce(updated_at, created_at) as updated_at,

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
