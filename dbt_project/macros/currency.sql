{#- The one currency rule of the warehouse (issue #16: one home for every rule). Every amount that
    is summed or compared across currencies (CRM opportunities and orders in int_events_unified,
    channel spend in channel_attribution_monthly) goes through with_reporting_currency; no model
    reads the seed currency_rates on its own.

    currency_code(currency): the amount's ISO 4217 code, trimmed and upper-cased. A missing one
    (null or blank) is var default_currency (dbt_project.yml, CNY): a CRM without multi-currency
    exports no currency at all, every amount is in the account's own currency. -#}
{% macro currency_code(currency) -%}
    coalesce(upper(nullif(trim({{ currency }}), '')), '{{ var("default_currency") }}')
{%- endmacro %}

{#- with_reporting_currency(relation, amount, currency): a select of every row of `relation` (a CTE
    name) and
      currency_code: currency_code(currency), as above;
      rate_to_reporting: its rate in the seed currency_rates (reporting currency per unit), null
        when the seed has no rate for it;
      amount_reporting: amount (as decimal(18, 2): money) times the rate, exact (decimal(38, 8)); null when the amount is
        null or the currency has no rate: an unknown code is never treated as 1:1;
      is_rate_missing: true when the code has no rate (the amount stays unconverted, flagged).
    The consumers decide what an unconverted amount means for them (customer_rfm counts the order
    in orders_without_rate, attribution values the conversion at null). -#}
{% macro with_reporting_currency(relation, amount='amount', currency='currency') -%}
    select
        {{ relation }}.*,
        {{ currency_code(relation ~ '.' ~ currency) }} as currency_code,
        currency_rates.rate_to_reporting,
        cast(
            cast({{ relation }}.{{ amount }} as decimal(18, 2)) * currency_rates.rate_to_reporting
            as decimal(38, 8)
        ) as amount_reporting,
        currency_rates.rate_to_reporting is null as is_rate_missing
    from {{ relation }}
    left join {{ ref('currency_rates') }} as currency_rates
        on upper(trim(currency_rates.currency)) = {{ currency_code(relation ~ '.' ~ currency) }}
{%- endmacro %}
