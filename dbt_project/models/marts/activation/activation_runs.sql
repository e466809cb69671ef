{#- One row per execution of a destination run of activation (run_id, destination, execution; a task
    retry or a cleared run, which keeps its run_id, adds an execution), from the ledger's history:
    what the run planned and what became of it, the share of the rows it had to send that were
    refused (reject_share), and whether it is the destination's latest run (the GX gate checks
    the latest run's reject share, expectations/marts/activation_runs.json). -#}
with

runs as (
    select * from {{ activation_history('activation_runs') }}
),

dead_letters as (
    select
        destination,
        count(*) as dead_letters_now
    from {{ activation_history('activation_dead_letter') }}
    group by destination
),

counted as (
    select
        -- ids
        runs.run_id,
        runs.destination,
        -- 1 for a run's first execution at the destination; a task retry or a cleared run adds one
        cast(runs.execution as bigint) as execution,
        -- the destination's name without its account or outbox suffix: hubspot@… → hubspot
        regexp_replace(runs.destination, '[@:].*$', '') as destination_name,
        -- timestamps
        cast(runs.interval_start as date) as interval_start,
        cast(runs.started_at as timestamp) as started_at,
        cast(runs.finished_at as timestamp) as finished_at,
        -- the run's counts
        runs.mode,
        cast(runs.planned as bigint) as planned,
        cast(runs.sent_ok as bigint) as sent_ok,
        cast(runs.unchanged as bigint) as unchanged,
        cast(runs.rejected as bigint) as rejected,
        cast(runs.invalid as bigint) as invalid,
        cast(runs.deferred as bigint) as deferred,
        cast(runs.dead_lettered as bigint) as dead_lettered,
        cast(runs.stale as bigint) as stale,
        cast(runs.requests as bigint) as requests,
        runs.error,
        -- what the run had to send: not unchanged, not held back as older than the destination holds
        cast(runs.planned - runs.unchanged - runs.stale as bigint) as rows_due,
        cast(runs.rejected + runs.invalid + runs.dead_lettered as bigint) as rows_refused,
        coalesce(dead_letters.dead_letters_now, 0) as destination_dead_letters_now
    from runs
    left join dead_letters on dead_letters.destination = runs.destination
),

final as (
    select
        *,
        cast(rows_refused as {{ sql_type('double precision') }}) / nullif(rows_due, 0) as reject_share,
        row_number() over (
            partition by destination order by started_at desc, run_id desc, execution desc
        ) = 1 as is_latest_run
    from counted
)

select * from final
