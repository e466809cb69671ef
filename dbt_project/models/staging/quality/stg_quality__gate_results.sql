{#- The quality gates' verdicts, one row per interval, layer, suite and expectation, as the gates
    recorded them in the lake (macro gate_results). A re-run of an interval's gate replaced its
    file, so an interval has one verdict per layer: the last. -#}
with

source as (
    select * from {{ gate_results() }}
),

renamed as (
    select
        -- keys
        cast(interval_start as date) as interval_start,
        cast(layer as {{ dbt.type_string() }}) as layer,
        cast(suite as {{ dbt.type_string() }}) as suite,
        cast(expectation_number as integer) as expectation_number,
        -- the expectation
        cast(expectation as {{ dbt.type_string() }}) as expectation,
        cast(column_name as {{ dbt.type_string() }}) as column_name,
        cast(row_condition as {{ dbt.type_string() }}) as row_condition,
        cast(severity as {{ dbt.type_string() }}) as severity,
        cast(is_critical as boolean) as is_critical,
        -- the verdict
        cast(success as boolean) as success,
        cast(rows_checked as bigint) as rows_checked,
        cast(unexpected_count as bigint) as unexpected_count,
        cast(unexpected_percent as double precision) as unexpected_percent,
        cast(error as {{ dbt.type_string() }}) as error,
        -- which gate run
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(validated_at as timestamp) as validated_at
    from source
)

select * from renamed
