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
    -- the record's columns cast to their types (macros/privacy.sql: the one column list)
    select
        {{- typed_columns(privacy_audit_columns()) }}
    from records
)

select * from final
