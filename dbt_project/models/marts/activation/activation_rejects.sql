{#- The rows activation could not deliver, by interval, destination, outcome and reason: rejected
    by the destination, dead_lettered_now (rejected, and that rejection made the row a dead letter),
    invalid (never sent), dead_letter (a dead letter: not sent again). reason_kind is the
    reason with the row's own values left out (email addresses as <email>, single-quoted values as '…'), so one kind of error groups across rows. -#}
with

row_log as (
    select * from {{ activation_history('activation_row_log') }}
),

refused as (
    select
        cast(interval_start as date) as interval_start,
        run_id,
        execution,
        destination,
        regexp_replace(destination, '[@:].*$', '') as destination_name,
        outcome,
        coalesce(reason, '') as reason,
        -- the row's own values left out: email addresses, then single-quoted values
        {% set email_regex -%}[^\s'"{}:,\[\]]+@[^\s'"{}:,\[\]]+{%- endset -%}
        {% set quoted_regex -%}'[^']*'{%- endset %}
        {{ regex_replace_all(regex_replace_all("coalesce(reason, '')", text_literal(email_regex), "'<email>'"), text_literal(quoted_regex), text_literal("'…'")) }} as reason_kind
    from row_log
    where outcome in ('rejected', 'dead_lettered_now', 'invalid', 'dead_letter')
),

final as (
    select
        interval_start,
        destination,
        destination_name,
        outcome,
        reason_kind,
        count(*) as rows_refused,
        -- executions, not run ids: a task retry or a cleared run keeps its run_id and adds an execution
        count(distinct {{ dbt.concat(["run_id", "'#'", "cast(execution as " ~ dbt.type_string() ~ ")"]) }}) as runs,
        min(reason) as example_reason
    from refused
    group by interval_start, destination, destination_name, outcome, reason_kind
)

select * from final
