{#- One row per person with at least one order at or before as_of_at (var interval_end, or the latest
    event in the data: macros/scoring_interval.sql): recency, frequency and monetary value, their
    1-5 scores, the cell ('545') and a named segment from the seed rfm_segments.

    Monetary is the sum of the orders in the reporting currency (int_events_unified.amount_reporting,
    the one currency rule of macros/currency.sql: an order without a currency is in var
    default_currency). An order whose currency has no rate counts in frequency, not in monetary,
    and in orders_without_rate.

    Tie rule (a score depends only on the value, so equal values always share a score; no ntile(),
    which splits a tie of many one-time buyers over several buckets). n = customers, and rank()
    gives tied values the same, lowest rank:
      f_score, m_score = 1 + floor(5 * (rank() over (order by value) - 1) / n)
        (rank - 1) / n is the share of customers with a strictly lower value: the lowest value
        always gets 1, a higher value never a lower score, at most 5.
      r_score = 5 - floor(5 * (rank() over (order by recency_days) - 1) / n)
        (rank - 1) / n is the share of customers whose last order is strictly more recent (in whole
        days): the most recent customers always get 5, an older one never a higher score, at least 1.
    When every customer has the same value, f_score and m_score are all 1 and r_score is all 5. -#}
with

events as (
    select * from {{ ref('int_events_unified') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

as_of as (
    select {{ interval_end_at(ref('int_events_unified')) }} as as_of_at
),

orders as (
    select
        events.person_id,
        events.event_at,
        events.amount_reporting,
        events.is_rate_missing,
        as_of.as_of_at
    from events
    cross join as_of
    where events.event_type = 'order_placed'
        and events.event_at <= as_of.as_of_at
),

customers as (
    select
        person_id,
        min(event_at) as first_order_at,
        max(event_at) as last_order_at,
        count(*) as frequency,
        -- exact decimal arithmetic (amount_reporting is a decimal), so the same cents on DuckDB
        -- and Postgres
        coalesce(sum(amount_reporting), 0) as monetary_reporting,
        sum(case when is_rate_missing then 1 else 0 end) as orders_without_rate,
        max(as_of_at) as as_of_at
    from orders
    group by person_id
),

measured as (
    select
        person_id,
        first_order_at,
        last_order_at,
        -- whole 24-hour days: an order 23 hours before as_of_at is 0 days old
        cast(
            floor({{ dbt.datediff('last_order_at', 'as_of_at', 'second') }} / 86400.0) as integer
        ) as recency_days,
        cast(frequency as integer) as frequency,
        cast(round(monetary_reporting, 2) as decimal(18, 2)) as monetary,
        cast(orders_without_rate as integer) as orders_without_rate,
        as_of_at
    from customers
),

ranked as (
    select
        measured.*,
        count(*) over () as customers,
        rank() over (order by recency_days) as recency_rank,
        rank() over (order by frequency) as frequency_rank,
        rank() over (order by monetary) as monetary_rank
    from measured
),

scored as (
    select
        person_id,
        first_order_at,
        last_order_at,
        recency_days,
        frequency,
        monetary,
        orders_without_rate,
        cast(5 - floor(5.0 * (recency_rank - 1) / customers) as integer) as r_score,
        cast(1 + floor(5.0 * (frequency_rank - 1) / customers) as integer) as f_score,
        cast(1 + floor(5.0 * (monetary_rank - 1) / customers) as integer) as m_score,
        as_of_at
    from ranked
),

segment_matches as (
    -- fm: the average of f_score and m_score, rounded half up; the first segment by priority wins,
    -- and a cell no segment covers keeps a null segment (the not_null test fails) instead of vanishing
    select
        scored.*,
        rfm_segments.segment as rfm_segment,
        row_number() over (
            partition by scored.person_id
            order by rfm_segments.priority
        ) as segment_rank
    from scored
    left join rfm_segments
        on scored.r_score between rfm_segments.r_min and rfm_segments.r_max
        and cast(floor((scored.f_score + scored.m_score + 1) / 2.0) as integer)
        between rfm_segments.fm_min and rfm_segments.fm_max
),

final as (
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(first_order_at as timestamp) as first_order_at,
        cast(last_order_at as timestamp) as last_order_at,
        recency_days,
        frequency,
        monetary,
        orders_without_rate,
        r_score,
        f_score,
        m_score,
        cast(
            cast(r_score as {{ sql_type('varchar') }}) || cast(f_score as {{ sql_type('varchar') }}) || cast(m_score as {{ sql_type('varchar') }}) as {{ sql_type('varchar') }}) as rfm_cell,
        cast(rfm_segment as {{ sql_type('varchar') }}) as rfm_segment,
        cast(as_of_at as timestamp) as as_of_at
    from segment_matches
    where segment_rank = 1
)

select * from final
