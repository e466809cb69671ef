{#- Form submissions, one row per submission (the first copy: macro first_copy), typed, with their form type.
    Incremental as stg_web__events is (docs/incremental.md): a daily run reads only the lake
    partitions of its window (macros/incremental.sql), first removes the rows those partitions gave
    before (pre_hook), then merges their submissions on submission_key; a submission already stored
    from an older partition keeps that copy, one stored from a newer partition gives way to the
    window's (macro not_yet_stored), as a full build's first_copy chooses.
    The form type comes from the seed form_types: a change of the seed needs a full refresh. -#}
{{ lake_staging_config('forms', 'forms_submissions', unique_key='submission_key') }}

with

source as (
    -- the window's partitions on a daily run, every partition on a full build (macros/incremental.sql)
    {{ lake_rows('forms', 'forms_submissions') }}
),

form_types as (
    select * from {{ ref('form_types') }}
),

keyed as (
    select
        source.*,
        -- jinshuju numbers entries per form (序号 starts at 1 in every form), so its id identifies a
        -- submission only together with the form; the other tools' ids are global. An export without
        -- ids: the file and row identify the submission.
        form_tool || ':' || coalesce(
            case when form_tool = 'jinshuju' then coalesce(trim(form_name), '') || ':' else '' end
            || nullif(trim(submission_id), ''),
            _source_file || '#' || cast(_row_number as {{ sql_type('varchar') }})
        ) as submission_key
    from source
),

-- a re-exported row counts once: one rule in macros (first_copy, not_yet_stored), with this source's own key
deduplicated as (
    -- the same submission exported in two drops counts once: keep the first copy (earliest export day)
    {{ first_copy('keyed', ['submission_key']) }}
),

new_submissions as (
    -- a submission already stored from a partition outside the window keeps that copy
    {{ not_yet_stored('deduplicated', 'submission_key') }}
),

categorised as (
    -- form names are free text: the seed maps them to a form type, lowest priority number wins
    select
        new_submissions.*,
        form_types.form_type,
        row_number() over (
            partition by new_submissions.submission_key
            order by form_types.priority
        ) as match_rank
    from new_submissions
    left join form_types
        on lower(new_submissions.form_name) like form_types.pattern
),

renamed as (
    select
        -- ids
        submission_key,
        nullif(trim(submission_id), '') as submission_id,
        form_tool,
        nullif(trim(client_id), '') as client_id,

        -- form
        form_name,
        coalesce(form_type, 'other') as form_type,
        nullif(trim(lead_source), '') as lead_source,

        -- person (macros/columns.sql: emails and phones are normalised by the extract; empty means unknown)
        {{ person_columns() }},

        -- consent: the form's consent checkbox (true: ticked, false: not ticked, null: no such field)
        {{ checkbox_value('consent') }} as consent_given,

        -- timestamps
        submitted_at,

        -- lineage: the raw lake's metadata columns (macros/columns.sql)
        {{ lake_lineage_columns() }}
    from categorised
    where match_rank = 1
)

select * from renamed
