{#- Whether activation may contact a person of marts.people: reachable by email, not a customer,
    not opted out (unsubscribed or reported spam) or bounced. One definition for every segment. -#}
{% macro is_contactable(people) -%}
    (
        {{ people }}.email is not null
        and not {{ people }}.is_customer
        and not {{ people }}.is_unsubscribed
        and not {{ people }}.is_bounced
    )
{%- endmacro %}

{#- The columns of the activation segments (segment_high_intent, segment_crm_updates): the contract
    activation reads (docs/contracts.md), in its order. -#}
{% macro activation_segment_columns() -%}
    person_id,
    email,
    phone,
    full_name,
    company,
    job_title,
    industry,
    owner,
    crm_lead_id,
    grade,
    score_reasons,
    lead_score,
    became_hot_in_interval,
    scored_at,
    crm_owner_id,
    owner_team,
    owner_source,
    score_reasons_zh,
    recycled_from_owner,
    alert_round,
    recycled_in_interval,
    merged_person_ids,
    consent_crm_sync,
    consent_chat_alert
{%- endmacro %}
