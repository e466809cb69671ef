{#- Privacy (docs/privacy.md): consent per person and purpose, and the audit trail's source. -#}

{#- A checkbox as form tools and CRMs export it, as a boolean: ticked (1, true, yes, 是, 同意, an
    option text that agrees, x, ✓) is true; unticked (empty, 0, false, no, 否, 不同意) is false;
    null when the value is null (the export has no such column). -#}
{% macro checkbox_value(column) -%}
    case
        when {{ column }} is null then null
        when lower(trim({{ column }})) in ('', '0', 'false', 'no', 'n', 'off', 'unchecked', 'declined', '否', '不同意')
            then false
        when lower(trim({{ column }})) in ('1', 'true', 'yes', 'y', 'on', 'x', '✓', '√', 'checked', 'accepted', '是')
            then true
        when {{ column }} like '%不同意%' then false
        when {{ column }} like '%同意%' then true
        else false
    end
{%- endmacro %}

{#- The purposes consent is recorded for, in a fixed order: the keys of var consent_defaults. -#}
{% macro consent_purposes() -%}
    {{ return(['analytics', 'scoring', 'crm_sync', 'chat_alert', 'email_marketing']) }}
{%- endmacro %}

{#- A purpose's default when a person left no evidence (var consent_defaults: granted or denied).
    An unknown purpose or value is a compiler error, never a silent grant. -#}
{% macro consent_default(purpose) -%}
    {%- set defaults = var('consent_defaults') -%}
    {%- if purpose not in consent_purposes() -%}
        {{ exceptions.raise_compiler_error("unknown consent purpose '" ~ purpose ~ "'; the purposes are " ~ consent_purposes() | join(', ')) }}
    {%- endif -%}
    {%- set value = defaults.get(purpose, 'denied') -%}
    {%- if value not in ('granted', 'denied') -%}
        {{ exceptions.raise_compiler_error("var consent_defaults." ~ purpose ~ " must be granted or denied, not '" ~ value ~ "'") }}
    {%- endif -%}
    {{ 'true' if value == 'granted' else 'false' }}
{%- endmacro %}

{#- The audit trail (source privacy.audit: one Parquet file per record under <lake>/audit, written by
    plugins/intent_pipeline/privacy/audit.py). Before the first record there are no files and
    read_parquet would fail on the empty glob: then an empty table with the same columns. -#}
{% macro privacy_audit_records() -%}
    {%- set relation = source('privacy', 'audit') -%}
    {{ return(adapter.dispatch('privacy_audit_records')(relation)) }}
{%- endmacro %}

{% macro default__privacy_audit_records(relation) -%}
    {{ relation }}
{%- endmacro %}

{% macro duckdb__privacy_audit_records(relation) -%}
    {%- set pattern = lake_dir() ~ '/audit/dt=*/*.parquet' -%}
    {{ files_or_empty(pattern, relation, privacy_audit_empty()) }}
{%- endmacro %}

{#- Spark: the audit files read in place (raw.audit, an external table over the folder). -#}
{% macro spark__privacy_audit_records(relation) -%}
    {{ spark_lake_table('audit', 'audit', privacy_audit_columns()) }}
{%- endmacro %}

{#- Postgres: the table is loaded into schema raw by intent_pipeline.postgres_load, which leaves
    no table before the first record. -#}
{% macro postgres__privacy_audit_records(relation) -%}
    {{ relation_or_empty(relation, privacy_audit_empty()) }}
{%- endmacro %}

{#- The audit record's columns and types, in order: the one list of the empty table and of the
    mart privacy_audit's casts. -#}
{% macro privacy_audit_columns() -%}
    {{ return([
        ('audit_id', 'varchar'), ('recorded_at', 'timestamp'), ('event', 'varchar'), ('destination', 'varchar'),
        ('purpose', 'varchar'), ('record_count', 'bigint'), ('run_id', 'varchar'), ('details', 'varchar'),
    ]) }}
{%- endmacro %}

{% macro privacy_audit_empty() -%}
        (select
        {{- typed_columns(privacy_audit_columns(), null_values=true) }}
        where false) as empty_audit
{%- endmacro %}

{#- A data test: every non-null person id of the column belongs to a person whose consent covers
    `purpose` (marts.person_consent). A per-person mart of a purpose holds nobody else. -#}
{% test only_people_consenting_to(model, column_name, purpose) %}
    {%- set _check = consent_default(purpose) -%}
    select checked.{{ column_name }} as person_id
    from {{ model }} as checked
    where checked.{{ column_name }} is not null
        and not exists (
            select 1
            from {{ ref('person_consent') }} as consent
            where consent.person_id = checked.{{ column_name }}
                and consent.purpose = '{{ purpose }}'
                and consent.is_granted
        )
{% endtest %}

{#- What web_consent_daily's rows depend on besides their date's events: the seeds that give an event's
    source its category, and so its channel. A change of either computes every date again. -#}
{% macro web_consent_daily_fingerprint() -%}
    {{- return(config_fingerprint({}, ['channel_source_overrides', 'ga4_source_categories'])) -}}
{%- endmacro %}

{#- The columns of a web event (besides event_date) web_consent_daily reads: its consented and denied
    events select them, and web_consent_daily_inputs' digest covers them, so a change the mart would
    see is a change its daily run computes again. -#}
{% macro web_consent_daily_columns() -%}
    {{ return(['event_name', 'page_path', 'source', 'medium', 'campaign', 'gclid']) }}
{%- endmacro %}

{#- One row per event_date (null: the events without one) of the two web staging models, `events` and
    `denied`, with the digest (row_set_digest) of every column web_consent_daily reads of that date's
    events: whether consent was denied, the event's name, page path and traffic source. -#}
{% macro web_consent_daily_inputs(events, denied) -%}
    {%- set read = web_consent_daily_columns() -%}
    select event_date, {{ row_set_digest('input_row') }} as digest
    from (
        select event_date, {{ row_digest_value(["'c'"] + read) }} as input_row
        from {{ events }}
        union all
        select event_date, {{ row_digest_value(["'d'"] + read) }}
        from {{ denied }}
    ) as inputs
    group by event_date
{%- endmacro %}
