{#- One row per resolved person: the golden record. Each attribute comes from the best record that
    has it: the CRM (curated by sales) before forms, then the most recent non-null. Email, phone and
    CRM lead id fall back to the person's identifiers. With it: every identifier of the person, the
    confidence of the weakest link that holds them together (1 when all links are exact keys, the
    match probability of a probabilistic link otherwise), divided by 1 + contradicting_identifiers
    (a second valid phone, a second mailbox at one company domain: the marks of strangers glued
    together, which the marts gate counts), and since when their person id exists.
    Customer and email-status flags come from the whole event history. -#}
{%- set profile_attributes = [
    'email', 'phone', 'full_name', 'company', 'job_title', 'industry',
    'company_size', 'region', 'owner', 'crm_lead_id',
] -%}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

profiles as (
    select * from {{ ref('int_profiles_observed') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

links as (
    select * from {{ ref('int_identifiers_linked') }}
),

person_ids as (
    select * from {{ ref('int_identity_person_ids') }}
),

free_email_domains as (
    select * from {{ ref('identity_match_free_email_domains') }}
),

consent_decided as (
    select * from {{ ref('int_consent_decided') }}
),

consent as (
    -- one column per purpose: the person's latest evidence, else the purpose's default (var consent_defaults)
    select
        identifiers.person_id,
        {%- for purpose in consent_purposes() %}
        coalesce(
            max(case when consent_decided.purpose = '{{ purpose }}' then case when consent_decided.is_granted then 1 else 0 end end) = 1,
            {{ consent_default(purpose) }}
        ) as consent_{{ purpose }}{{ "," if not loop.last }}
        {%- endfor %}
    from (select distinct person_id from people_nodes) as identifiers
    left join consent_decided
        on consent_decided.person_id = identifiers.person_id
    group by identifiers.person_id
),

exclusive_identifiers as (
    -- identifiers one person holds one of: a valid phone, a mailbox at each company domain (a
    -- webmail address is not at a company: a work and a private address are fine)
    select
        people_nodes.person_id,
        people_nodes.node_key,
        'phone' as exclusive_within,
        right(people_nodes.identifier_value, 8) as compared_value
    from people_nodes
    where people_nodes.identifier_type = 'phone'

    union all

    select
        people_nodes.person_id,
        people_nodes.node_key,
        {{ dbt.split_part('people_nodes.identifier_value', "'@'", 2) }},
        {{ dbt.split_part('people_nodes.identifier_value', "'@'", 1) }}
    from people_nodes
    left join free_email_domains
        on free_email_domains.domain = {{ dbt.split_part('people_nodes.identifier_value', "'@'", 2) }}
    where people_nodes.identifier_type = 'email'
        and free_email_domains.domain is null
        and people_nodes.identifier_value like '%@%'
),

mistyped_identifiers as (
    -- one typo away from another of the same person's (jsaon@ next to jason@): the same one, mistyped
    select distinct
        typed.person_id,
        typed.node_key
    from exclusive_identifiers as typed
    inner join exclusive_identifiers as other
        on other.person_id = typed.person_id
        and other.exclusive_within = typed.exclusive_within
        and other.node_key < typed.node_key
    where {{ edit_distance_with_swaps('typed.compared_value', 'other.compared_value') }} <= 1
),

contradictions as (
    -- Identifiers one person does not hold several of (issue 12's glued person): every valid phone
    -- beyond the first, every mailbox at a company domain beyond the first there, typos not counted.
    -- Dates of birth would count too, but no source of ours carries one.
    select
        person_id,
        sum(held - 1) as contradicting_identifiers
    from (
        select
            exclusive_identifiers.person_id,
            exclusive_identifiers.exclusive_within,
            count(*) as held
        from exclusive_identifiers
        left join mistyped_identifiers
            on mistyped_identifiers.person_id = exclusive_identifiers.person_id
            and mistyped_identifiers.node_key = exclusive_identifiers.node_key
        where mistyped_identifiers.node_key is null
        group by exclusive_identifiers.person_id, exclusive_identifiers.exclusive_within
    ) as held_per_kind
    group by person_id
),


link_confidence as (
    -- a person is as certain as the weakest link that holds them together
    select
        people_nodes.person_id,
        min(links.confidence) as identity_confidence,
        max(case when links.link_rule = 'probabilistic' then 1 else 0 end) = 1 as has_probabilistic_link
    from links
    inner join people_nodes
        on people_nodes.node_key = links.node_a
    group by people_nodes.person_id
),

person_ages as (
    select
        person_id,
        min(person_since) as person_since
    from person_ids
    group by person_id
),

attribute_values as (
    {%- for attribute in profile_attributes %}
    select
        person_id,
        '{{ attribute }}' as attribute,
        {{ attribute }} as attribute_value,
        source_priority,
        recency_at
    from profiles
    where {{ attribute }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked_values as (
    select
        attribute_values.*,
        row_number() over (
            partition by person_id, attribute
            order by source_priority, recency_at desc, attribute_value
        ) as value_rank
    from attribute_values
),

chosen_attributes as (
    select
        person_id,
        {%- for attribute in profile_attributes %}
        max(case when attribute = '{{ attribute }}' then attribute_value end) as {{ attribute }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from ranked_values
    where value_rank = 1
    group by person_id
),

identifiers as (
    select
        person_id,
        count(*) as identifier_count,
        {{ dbt.listagg('node_key', "' '", "order by node_key") }} as identifiers,
        min(case when identifier_type = 'email' then identifier_value end) as any_email,
        min(case when identifier_type = 'phone' then identifier_value end) as any_phone,
        min(case when identifier_type = 'crm_lead' then identifier_value end) as any_crm_lead_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from people_nodes
    group by person_id
),

subscription_changes as (
    select
        person_id,
        event_type,
        row_number() over (
            partition by person_id
            -- on a tie the unsubscribe wins: better not mail than mail against someone's wish
            order by event_at desc, case when event_type = 'email_unsubscribe' then 0 else 1 end
        ) as change_rank
    from events
    where event_type in ('email_unsubscribe', 'email_resubscribe')
),

behaviour as (
    select
        person_id,
        max(case when event_type in ('order_placed', 'opportunity_won') then 1 else 0 end) = 1 as is_customer,
        max(case when event_type = 'email_spamreport' then 1 else 0 end) = 1 as has_spamreport,
        max(case when event_type = 'email_bounce' then 1 else 0 end) = 1 as is_bounced
    from events
    group by person_id
),

final as (
    select
        cast(identifiers.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(coalesce(chosen_attributes.email, identifiers.any_email) as {{ sql_type('varchar') }}) as email,
        cast(coalesce(chosen_attributes.phone, identifiers.any_phone) as {{ sql_type('varchar') }}) as phone,
        cast(chosen_attributes.full_name as {{ sql_type('varchar') }}) as full_name,
        cast(chosen_attributes.company as {{ sql_type('varchar') }}) as company,
        cast(chosen_attributes.job_title as {{ sql_type('varchar') }}) as job_title,
        cast(chosen_attributes.industry as {{ sql_type('varchar') }}) as industry,
        cast(chosen_attributes.company_size as {{ sql_type('varchar') }}) as company_size,
        cast(chosen_attributes.region as {{ sql_type('varchar') }}) as region,
        cast(chosen_attributes.owner as {{ sql_type('varchar') }}) as owner,
        cast(coalesce(chosen_attributes.crm_lead_id, identifiers.any_crm_lead_id) as {{ sql_type('varchar') }}) as crm_lead_id,
        cast(identifiers.identifier_count as integer) as identifier_count,
        cast(identifiers.identifiers as {{ sql_type('varchar') }}) as identifiers,
        -- the weakest link, divided by 1 + the contradicting identifiers the person holds
        cast(
            link_confidence.identity_confidence / (1 + coalesce(contradictions.contradicting_identifiers, 0)) as {{ sql_type('double precision') }}) as identity_confidence,
        coalesce(link_confidence.has_probabilistic_link, false) as has_probabilistic_link,
        cast(person_ages.person_since as date) as person_since,
        coalesce(behaviour.is_customer, false) as is_customer,
        (
            coalesce(behaviour.has_spamreport, false)
            or coalesce(last_subscription_change.event_type = 'email_unsubscribe', false)
        ) as is_unsubscribed,
        coalesce(behaviour.is_bounced, false) as is_bounced,
        cast(identifiers.first_seen_at as timestamp) as first_seen_at,
        cast(identifiers.last_seen_at as timestamp) as last_seen_at,
        cast(coalesce(contradictions.contradicting_identifiers, 0) as integer) as contradicting_identifiers,
        -- consent per purpose (docs/privacy.md): evidence first, else the purpose's default
        {%- for purpose in consent_purposes() %}
        consent.consent_{{ purpose }}{{ "," if not loop.last }}
        {%- endfor %}
    from identifiers
    left join chosen_attributes
        on chosen_attributes.person_id = identifiers.person_id
    left join link_confidence
        on link_confidence.person_id = identifiers.person_id
    left join person_ages
        on person_ages.person_id = identifiers.person_id
    left join contradictions
        on contradictions.person_id = identifiers.person_id
    left join behaviour
        on behaviour.person_id = identifiers.person_id
    left join subscription_changes as last_subscription_change
        on last_subscription_change.person_id = identifiers.person_id
        and last_subscription_change.change_rank = 1
    left join consent
        on consent.person_id = identifiers.person_id
)

select * from final
