{#- GA4's default channel group, the one definition of a marketing channel in this project.
    Google's rules, in Google's order (support.google.com/analytics/answer/9756891, "Channels for
    manual traffic"); the first rule that holds names the channel. Values are compared lower-cased
    and trimmed, so the rules are case-insensitive. docs/channels.md has the table.

     1 Direct                     source is (direct) and medium is (none) or (not set)
     2 Cross-network              campaign contains "cross-network"
     3 Paid Shopping              (source category SHOPPING or a shopping campaign) and a paid medium
     4 Paid Search                source category SEARCH and a paid medium
     5 Paid Social                source category SOCIAL and a paid medium
     6 Paid Video                 source category VIDEO and a paid medium
     7 Display                    medium display, banner, expandable, interstitial or cpm
     8 Paid Other                 a paid medium
     9 Organic Shopping           source category SHOPPING or a shopping campaign
    10 Organic Social             source category SOCIAL or medium social, social-network,
                                  social-media, sm, social network, social media
    11 Organic Video              source category VIDEO or medium contains "video"
    12 Organic Search             source category SEARCH or medium organic
    13 Referral                   medium referral, app or link
    14 Email                      source or medium email, e-mail, e_mail or e mail
    15 Affiliates                 medium affiliate
    16 Audio                      medium audio
    17 SMS                        source or medium sms
    18 Mobile Push Notifications  medium ends with "push" or contains "mobile" or "notification",
                                  or source firebase
    19 Unassigned                 nothing above

    A paid medium matches ^(.*cp.*|ppc|retargeting|paid.*)$ and a shopping campaign
    ^(.*(([^a-df-z]|^)shop|shopping).*)$, as Google writes them.

    Arguments are SQL expressions. A missing source is (direct) and a missing medium (none), so a
    session with neither is Direct. `gclid`: a Google Ads click. GA4 lets auto-tagging win over
    UTM tags by default, so a click id makes the traffic google / cpc whatever the UTM tags say
    (only its campaign name is kept): Paid Search, or Cross-network when the campaign says so.
    `source_category`: SOURCE_CATEGORY_SEARCH / SOCIAL / SHOPPING / VIDEO of the source, from the
    seeds ga4_source_categories and channel_source_overrides (see with_source_category); without
    it the rules that need a source list never hold. -#}
{% macro default_channel_group(source, medium, campaign, gclid=none, source_category=none) -%}
    {%- set direct_source = "coalesce(nullif(lower(trim(" ~ source ~ ")), ''), '(direct)')" -%}
    {%- set tagged_medium = "coalesce(nullif(lower(trim(" ~ medium ~ ")), ''), '(none)')" -%}
    {%- set tagged_category = "coalesce(upper(" ~ source_category ~ "), '')" if source_category else "''" -%}
    {%- if gclid -%}
        {%- set src = "(case when " ~ gclid ~ " is not null then 'google' else " ~ direct_source ~ " end)" -%}
        {%- set med = "(case when " ~ gclid ~ " is not null then 'cpc' else " ~ tagged_medium ~ " end)" -%}
        {%- set cat = "(case when " ~ gclid ~ " is not null then 'SOURCE_CATEGORY_SEARCH' else " ~ tagged_category ~ " end)" -%}
    {%- else -%}
        {%- set src = direct_source -%}
        {%- set med = tagged_medium -%}
        {%- set cat = tagged_category -%}
    {%- endif -%}
    {%- set cmp = "coalesce(lower(" ~ campaign ~ "), '')" if campaign else "''" -%}
    {%- set paid_medium -%}
        ({{ med }} like '%cp%' or {{ med }} in ('ppc', 'retargeting') or {{ med }} like 'paid%')
    {%- endset -%}
    {%- set shopping_campaign = regex_search(cmp, "'(^|[^a-df-z])shop|shopping'") -%}
    case
        when {{ src }} = '(direct)' and {{ med }} in ('(none)', '(not set)')
            then 'Direct'
        when {{ cmp }} like '%cross-network%'
            then 'Cross-network'
        when ({{ cat }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shopping_campaign }}) and {{ paid_medium }}
            then 'Paid Shopping'
        when {{ cat }} = 'SOURCE_CATEGORY_SEARCH' and {{ paid_medium }}
            then 'Paid Search'
        when {{ cat }} = 'SOURCE_CATEGORY_SOCIAL' and {{ paid_medium }}
            then 'Paid Social'
        when {{ cat }} = 'SOURCE_CATEGORY_VIDEO' and {{ paid_medium }}
            then 'Paid Video'
        when {{ med }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm')
            then 'Display'
        when {{ paid_medium }}
            then 'Paid Other'
        when {{ cat }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shopping_campaign }}
            then 'Organic Shopping'
        when {{ cat }} = 'SOURCE_CATEGORY_SOCIAL'
            or {{ med }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
            then 'Organic Social'
        when {{ cat }} = 'SOURCE_CATEGORY_VIDEO' or {{ med }} like '%video%'
            then 'Organic Video'
        when {{ cat }} = 'SOURCE_CATEGORY_SEARCH' or {{ med }} = 'organic'
            then 'Organic Search'
        when {{ med }} in ('referral', 'app', 'link')
            then 'Referral'
        when {{ src }} in ('email', 'e-mail', 'e_mail', 'e mail') or {{ med }} in ('email', 'e-mail', 'e_mail', 'e mail')
            then 'Email'
        when {{ med }} = 'affiliate'
            then 'Affiliates'
        when {{ med }} = 'audio'
            then 'Audio'
        when {{ src }} = 'sms' or {{ med }} = 'sms'
            then 'SMS'
        when {{ med }} like '%push' or {{ med }} like '%mobile%' or {{ med }} like '%notification%'
            or {{ src }} = 'firebase'
            then 'Mobile Push Notifications'
        else 'Unassigned'
    end
{%- endmacro %}

{#- The channel names default_channel_group returns, in Google's order. -#}
{% macro default_channel_groups() -%}
    {{ return([
        'Direct', 'Cross-network', 'Paid Shopping', 'Paid Search', 'Paid Social', 'Paid Video', 'Display',
        'Paid Other', 'Organic Shopping', 'Organic Social', 'Organic Video', 'Organic Search', 'Referral',
        'Email', 'Affiliates', 'Audio', 'SMS', 'Mobile Push Notifications', 'Unassigned',
    ]) }}
{%- endmacro %}

{#- Every source the channel grouping knows, one row per (source, match, origin), lower-cased:
    the rows of the seed channel_source_overrides (origin override; match exact or like, a SQL
    LIKE pattern for a family of hosts) and Google's list, the seed ga4_source_categories (origin
    google, exact). precedence orders the candidates of a source: 1 an exact override, 2 an
    override pattern, 3 Google's list; so a user's row always wins over Google's. -#}
{% macro channel_sources() -%}
    select
        lower(trim(overrides.source)) as source,
        lower(trim(overrides.match)) as match,
        upper(trim(overrides.source_category)) as source_category,
        'override' as origin,
        case when lower(trim(overrides.match)) = 'exact' then 1 else 2 end as precedence
    from {{ ref('channel_source_overrides') }} as overrides

    union all

    select
        lower(trim(google.source)),
        'exact',
        upper(trim(google.source_category)),
        'google',
        3
    from {{ ref('ga4_source_categories') }} as google
{%- endmacro %}

{#- `relation` (a CTE or table name) with one more column, source_category: the category of its
    column `source_column` (a plain column name), looked up case-insensitively in channel_sources()
    (best precedence first, then the longest pattern). Null when no list knows the source. A macro
    cannot add a join to its caller's FROM, so it returns the whole select; use it as a CTE:

        sessions_categorised as (
            {{ with_source_category('sessions', 'source') }}
        ),
        ... {{ default_channel_group('source', 'medium', 'campaign', 'gclid', 'source_category') }}

    Only the distinct sources of `relation` are matched against the lists (one join, no
    correlated subquery). -#}
{% macro with_source_category(relation, source_column) -%}
    select
        {{ relation }}.*,
        source_categories.source_category
    from {{ relation }}
    left join (
        select
            source_key,
            source_category
        from (
            select
                sources.source_key,
                channel_sources.source_category,
                row_number() over (
                    partition by sources.source_key
                    order by channel_sources.precedence, length(channel_sources.source) desc, channel_sources.source
                ) as match_rank
            from (
                select distinct lower(trim({{ source_column }})) as source_key
                from {{ relation }}
                where {{ source_column }} is not null
            ) as sources
            inner join ({{ channel_sources() }}) as channel_sources
                on (channel_sources.match = 'exact' and channel_sources.source = sources.source_key)
                or (channel_sources.match = 'like' and sources.source_key like channel_sources.source)
        ) as candidates
        where match_rank = 1
    ) as source_categories
        on source_categories.source_key = lower(trim({{ relation }}.{{ source_column }}))
{%- endmacro %}
