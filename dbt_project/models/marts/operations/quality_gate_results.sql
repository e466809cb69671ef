{#- The quality gates' verdicts, history: per interval, layer (raw: before the build; marts: after
    it), suite (one per table) and expectation, whether it held, how many rows it checked and how
    many broke it, and whether it is critical (blocks the next stage) or a warning. Counts only:
    failing values stay in the gate's report (data/reports/quality), they can be personal data.
    Built from the lake's verdict record at each build: the raw gate's verdict of this build's own
    interval is in it, the marts gate's arrives with the next build; publish puts the run's own
    verdicts into the serving copy (intent_pipeline/quality/verdicts.py). The columns are the
    record's, in its order (publish inserts the record's rows by name). -#}
with

verdicts as (
    select * from {{ ref('stg_quality__gate_results') }}
),

final as (
    select
        run_id,
        interval_start,
        layer,
        suite,
        expectation_number,
        expectation,
        column_name,
        row_condition,
        severity,
        is_critical,
        success,
        rows_checked,
        unexpected_count,
        unexpected_percent,
        error,
        validated_at
    from verdicts
)

select * from final
