{#- Marketing channel of a web session from its UTM source/medium, Google click id and external
    referrer host (GA4-like default channel grouping, with the Chinese engines and networks). -#}
{% macro channel_group(source, medium, gclid, referrer_host) -%}
    case
        when {{ gclid }} is not null
            or lower({{ medium }}) in ('cpc', 'ppc', 'paid_search', 'paidsearch', 'sem')
            then 'Paid Search'
        when lower({{ medium }}) in ('paid_social', 'paidsocial', 'social_paid')
            then 'Paid Social'
        when lower({{ medium }}) = 'email'
            or lower({{ source }}) in ('newsletter', 'email', 'sendgrid')
            then 'Email'
        when lower({{ medium }}) = 'organic'
            then 'Organic Search'
        when lower({{ medium }}) in ('social', 'social_network', 'social-network', 'sm')
            then 'Social'
        when lower({{ medium }}) = 'referral'
            then 'Referral'
        when {{ medium }} is not null and {{ medium }} not in ('(none)', '(not set)', '')
            then 'Other'
        -- untagged visit: the referrer tells where it came from
        when {{ referrer_host }} like '%google.%'
            or {{ referrer_host }} like '%baidu.com'
            or {{ referrer_host }} like '%bing.com'
            or {{ referrer_host }} like '%sogou.com'
            or {{ referrer_host }} like '%so.com'
            then 'Organic Search'
        when {{ referrer_host }} like '%weixin.qq.com'
            or {{ referrer_host }} like '%linkedin.com'
            or {{ referrer_host }} like '%weibo.com'
            or {{ referrer_host }} like '%zhihu.com'
            or {{ referrer_host }} like '%douyin.com'
            or {{ referrer_host }} like '%facebook.com'
            or {{ referrer_host }} like '%x.com'
            or {{ referrer_host }} like '%twitter.com'
            then 'Social'
        when {{ referrer_host }} is not null
            then 'Referral'
        else 'Direct'
    end
{%- endmacro %}
