{#- What each extract read, loaded and quarantined, per interval day, source and raw table, from the
    extract manifests of the raw lake (macro extract_manifests): the accounting every extract
    checks before it writes (read = loaded + quarantined + suppressed), in the warehouse so BI and
    the operations dashboard read it from a mart. Counts only: the quarantined rows themselves and
    their reasons stay in <lake>/quarantine/ (a reason can quote the rejected value, personal data).
    A re-extract of a day replaces its manifest, so a day is never counted twice. Built from every
    manifest at each build (a few files per day). -#}
with

manifests as (
    select * from {{ extract_manifests() }}
),

tables as (
    select
        {{ json_field_text('manifests.json', "'source'") }} as source,
        cast({{ json_field_text('manifests.json', "'interval_start'") }} as date) as interval_start,
        {{ json_field_text('manifests.json', "'batch_id'") }} as batch_id,
        cast({{ json_field_text('manifests.json', "'loaded_at'") }} as timestamp) as loaded_at,
        extracted.table_name,
        {{ json_field(json_field('manifests.json', "'tables'"), 'extracted.table_name') }} as counts
    from manifests,
        {{ json_object_key_rows('manifests.json', 'tables') }} as extracted (table_name)
),

files as (
    select
        {{ json_field_text('manifests.json', "'source'") }} as source,
        cast({{ json_field_text('manifests.json', "'interval_start'") }} as date) as interval_start,
        {{ json_field_text('landed.file', "'table'") }} as table_name,
        count(*) as files,
        count(case when {{ json_field_text('landed.file', "'error'") }} is not null then 1 end) as files_failed
    from manifests,
        {{ json_array_rows('manifests.json', 'files') }} as landed (file)
    group by 1, 2, 3
),

final as (
    select
        -- keys
        tables.interval_start,
        cast(tables.source as {{ sql_type('varchar') }}) as source,
        cast(tables.table_name as {{ sql_type('varchar') }}) as table_name,
        -- the extract's accounting
        cast(coalesce(files.files, 0) as bigint) as files,
        cast(coalesce(files.files_failed, 0) as bigint) as files_failed,
        cast({{ json_field_text('tables.counts', "'read'") }} as bigint) as rows_read,
        cast({{ json_field_text('tables.counts', "'loaded'") }} as bigint) as rows_loaded,
        cast({{ json_field_text('tables.counts', "'quarantined'") }} as bigint) as rows_quarantined,
        -- rows of erased people dropped at extract (0 when no suppression list was in force)
        cast(coalesce({{ json_field_text('tables.counts', "'suppressed'") }}, '0') as bigint) as rows_suppressed,
        cast({{ json_field_text('tables.counts', "'quarantined'") }} as {{ sql_type('double precision') }})
        / nullif(cast({{ json_field_text('tables.counts', "'read'") }} as {{ sql_type('double precision') }}), 0) as quarantine_share,
        -- which extract
        cast(tables.batch_id as {{ sql_type('varchar') }}) as batch_id,
        tables.loaded_at
    from tables
    left join files
        on files.source = tables.source
        and files.interval_start = tables.interval_start
        and files.table_name = tables.table_name
)

select * from final
