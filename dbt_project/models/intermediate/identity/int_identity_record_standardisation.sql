{#- Each record of int_identity_records under each comparison of the matcher's configuration (macro
    identity_match_config): is_present (a value to compare), is_failed (a value that does not
    standardise) and is_blocked (a value the blocklist removed); int_identity_match_standardisation
    counts them. Incremental per record (docs/incremental.md, "Identity"), as
    int_identity_record_identifiers: a daily run hashes every record (row_hash, of all its columns),
    and standardises only the records new, changed or gone since the stored hashes (macro
    identity_records_scope); a changed fingerprint of the matcher's configuration and seeds
    standardises every record. -#}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    post_hook="{{ identity_records_kept_state() }}",
) }}

-- the seeds the fingerprint reads (identity_match_fingerprint)
-- depends_on: {{ ref('identity_match_comparisons') }}
-- depends_on: {{ ref('identity_match_free_email_domains') }}
-- depends_on: {{ ref('identity_match_pinyin') }}

{%- set keys = ['record_id'] -%}
{%- set columns = ['records.record_id'] -%}
{%- if execute -%}
    {%- set columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(ref('int_identity_records')) -%}
        {%- do columns.append('records.' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
{%- endif -%}
{#- every record with the hash of all its columns: CTEs, the last of them listed_records -#}
{% set listed_ctes %}
records as (
    select * from {{ ref('int_identity_records') }}
),

listed_records as (
    select
        records.*,
        {{ identity_row_hash(columns) }} as row_hash
    from records
)
{% endset %}

{%- set scope = {'rows': none, 'changed': none} -%}
{%- if execute and is_incremental() -%}
    {%- set scope = identity_records_scope('with ' ~ listed_ctes ~ ' select * from listed_records', keys, with_copies=false) -%}
{%- endif %}

with
-- a daily run's scope: this model's own inputs narrowed to what the day changed (the shape repeats, the keys differ)

{{ listed_ctes }},

scoped_records as (
    {% if scope['rows'] is none -%}
    select * from listed_records
    {%- else -%}
    {{ identity_rows_of_changed_records(scope['rows'], scope['changed'], keys) }}
    {%- endif %}
),

flags as (
    {{ configured_match_standardisation_flags('scoped_records', identity_match_config(), carry=['row_hash']) }}
),

final as (
    select * from flags
)

select * from final
