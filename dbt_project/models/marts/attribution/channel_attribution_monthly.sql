{#- Per attribution model, channel and month of conversion: credited conversions and value (reporting
    currency), and where the seed channel_spend has the month's spend for the channel: spend
    (in the reporting currency: macros/currency.sql, the same rule as the CRM amounts), cost per conversion and ROAS (credited value ÷ spend). A month
    with spend and no credited conversion is still a row (cost per conversion null). -#}
with

touch_credits as (
    select * from {{ ref('attribution_touch_credits') }}
),

channel_spend as (
    select * from {{ ref('channel_spend') }}
),

spend_converted as (
    {{ with_reporting_currency('channel_spend', amount='spend') }}
),

spend as (
    -- a month whose spend is (partly) in a currency without a rate has a null spend, not a
    -- partial one
    select
        cast({{ dbt.date_trunc('month', 'cast(month as timestamp)') }} as date) as month,
        channel,
        case
            when max(case when is_rate_missing then 1 else 0 end) = 1 then null
            else sum(amount_reporting)
        end as spend
    from spend_converted
    group by 1, 2
),

credited as (
    select
        attribution_model,
        channel,
        cast({{ dbt.date_trunc('month', 'converted_at') }} as date) as month,
        {{ exact_sum('credit', scale=18) }} as conversions,
        {{ exact_sum('credited_value') }} as credited_value
    from touch_credits
    group by 1, 2, 3
),

models as (
    select distinct attribution_model from touch_credits
),

grid as (
    select attribution_model, channel, month from credited
    union
    select models.attribution_model, spend.channel, spend.month
    from spend
    cross join models
),

final as (
    select
        cast(grid.attribution_model as {{ sql_type('varchar') }}) as attribution_model,
        cast(grid.channel as {{ sql_type('varchar') }}) as channel,
        cast(grid.month as date) as month,
        cast(coalesce(credited.conversions, 0) as {{ sql_type('double precision') }}) as conversions,
        cast(coalesce(credited.credited_value, 0) as {{ sql_type('double precision') }}) as credited_value,
        cast(spend.spend as {{ sql_type('double precision') }}) as spend,
        cast(spend.spend / nullif(credited.conversions, 0) as {{ sql_type('double precision') }}) as cost_per_conversion,
        cast(coalesce(credited.credited_value, 0) / nullif(spend.spend, 0) as {{ sql_type('double precision') }}) as roas
    -- this model's own joins (on attribution_model, channel): a join chain alike in shape only to other models', other relations
    from grid
    left join credited
        on credited.attribution_model = grid.attribution_model
        and credited.channel = grid.channel
        and credited.month = grid.month
    left join spend
        on spend.channel = grid.channel
        and spend.month = grid.month
)

select * from final
