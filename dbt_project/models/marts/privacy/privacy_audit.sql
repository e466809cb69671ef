{#- The audit trail, queryable: one row per record plugins/intent_pipeline/privacy/audit.py
    appended under <lake>/audit (source privacy.audit): every push to a destination (activation:
    destination, purpose, records acknowledged, run), every publish of the serving copy, and every
    erasure. The files are never rewritten, so this table is the whole history on every build.
    details is the record's other fields as JSON text (counts and ids only, never personal data). -#}
with

records as (
    select * from {{ privacy_audit_records() }}
),

final as (
    select
        cast(audit_id as varchar) as audit_id,
        cast(recorded_at as timestamp) as recorded_at,
        cast(event as varchar) as event,
        cast(destination as varchar) as destination,
        cast(purpose as varchar) as purpose,
        cast(record_count as bigint) as record_count,
        cast(run_id as varchar) as run_id,
        cast(details as varchar) as details
    from records
)

select * from final
