{#- The quality gates' verdicts, one row per interval, layer, suite and expectation, as the gates
    recorded them in the lake (macro gate_results). A re-run of an interval's gate replaced its
    file, so an interval has one verdict per layer: the last. -#}
with

source as (
    select * from {{ gate_results() }}
),

renamed as (
    -- each column of the record cast to its type (macros/quality_gates.sql: the one column list)
    select
        {{- typed_columns(gate_result_columns()) }}
    from source
)

select * from renamed
