{#- Every CRM activity as each export showed it: one row per activity and export interval (the latest
    row within that interval: macros/versions.sql), renamed and cast. The base of stg_crm__activities
    (each activity's latest row). Incremental as the other staging models (docs/incremental.md, "CRM
    staging"): a daily run reads the window's partitions again, and the rows of partitions the lake no
    longer has go (pre_hook). -#}
{{ lake_staging_config('crm', 'crm_activities', unique_key=['activity_id', '_interval_start']) }}
{#- The outcome column is optional in the export and new in the raw contract: a lake written
    before it has none, and every activity's outcome is then unknown (null). What the run reads is
    probed: the window's partitions on a daily run, every partition on a full build. -#}
{%- set read = lake_window('crm', 'crm_activities') if is_incremental() else source('crm', 'crm_activities') -%}
{%- set outcome = activity_outcome('outcome')
    if relation_has_column(read, 'outcome') else 'cast(null as ' ~ sql_type('varchar') ~ ')' %}
with
-- a CRM export's versions: the lake staging chain (lake_rows, latest_version, crm_version_select) with this entity's own columns

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('crm', 'crm_activities') }}
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

        -- outcome: a call's disposition or a meeting's outcome as exported ("No answer" -> no_answer);
        -- null when the export has no Outcome column or the cell is empty (unknown)
        {{ outcome }} as outcome,
        case {{ outcome }}
            when 'connected' then 'success'
            when 'left_live_message' then 'success'
            when 'completed' then 'success'
            when 'held' then 'success'
            when 'no_answer' then 'failure'
            when 'busy' then 'failure'
            when 'left_voicemail' then 'failure'
            when 'wrong_number' then 'failure'
            when 'no_show' then 'failure'
            when 'canceled' then 'failure'
            when 'cancelled' then 'failure'
        end as outcome_result,

        -- timestamps
        activity_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from source
),

latest_per_export as (
    -- one version per record and export interval: macros/versions.sql, on the renamed and cast columns
    -- (the row's content breaks a tie, never its place in the file)
    {{ latest_version('renamed', ['activity_id', '_interval_start'], crm_version_content('activities')) }}
),

final as (
    {{ crm_version_select('activities', 'activity_id', 'latest_per_export') }}
)

select * from final
