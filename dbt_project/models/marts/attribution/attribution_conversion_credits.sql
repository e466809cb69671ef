{#- Credit per conversion, model, channel and campaign: the touches' credits summed
    (attribution_touch_credits). Per conversion and model, credit sums to 1 and credited_value to
    the conversion's value. markov and shapley (the standard allocation) credit channels, not
    touches: their rows have touches 0 and a null campaign. -#}
with

touch_credits as (
    select * from {{ ref('attribution_touch_credits') }}
),

final as (
    select
        cast(attribution_model as {{ sql_type('varchar') }}) as attribution_model,
        cast(conversion_id as {{ sql_type('varchar') }}) as conversion_id,
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(converted_at as timestamp) as converted_at,
        cast(channel as {{ sql_type('varchar') }}) as channel,
        cast(campaign as {{ sql_type('varchar') }}) as campaign,
        cast(count(touch_id) as integer) as touches,
        {{ exact_sum('credit', scale=18) }} as credit,
        {{ exact_sum('credited_value') }} as credited_value
    from touch_credits
    group by attribution_model, conversion_id, person_id, converted_at, channel, campaign
)

select * from final
