{#- The outcome column is optional in the export and new in the raw contract: a lake written
    before it has none, and every activity's outcome is then unknown (null). -#}
{%- set outcome = activity_outcome('outcome')
    if relation_has_column(source('crm', 'crm_activities'), 'outcome') else 'cast(null as ' ~ sql_type('varchar') ~ ')' %}
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
    from latest
)

select * from renamed
