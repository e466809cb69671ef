{#- Every attribution model's credit per channel (first touch, last touch, last non-direct, linear,
    position-based, time decay, Markov, Shapley: see attribution_touch_credits). conversions: the
    conversions credited to the channel (fractional); credit: its share of the model's conversions;
    revenue: the credited conversion value in the reporting currency (macros/currency.sql). -#}
with

touch_credits as (
    select * from {{ ref('attribution_touch_credits') }}
),

per_channel as (
    select
        attribution_model,
        channel,
        {{ exact_sum('credit', scale=18) }} as conversions,
        {{ exact_sum('credited_value') }} as revenue
    from touch_credits
    group by attribution_model, channel
),

final as (
    select
        cast(attribution_model as {{ sql_type('varchar') }}) as attribution_model,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(conversions as {{ sql_type('double precision') }}) as conversions,
        cast(conversions / {{ exact_sum('conversions', over='partition by attribution_model', scale=18) }} as {{ sql_type('double precision') }}) as credit,
        cast(revenue as {{ sql_type('double precision') }}) as revenue
    from per_channel
)

select * from final
