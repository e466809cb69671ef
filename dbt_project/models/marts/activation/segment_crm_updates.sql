{#- People who were high intent (lead routing assigned them) and left segment_high_intent since:
    their score fell, or they became a customer, unsubscribed or bounced. Activation sends them to
    a CRM only where that CRM received them before (the destination's ledger has them), so the
    grade, score and reasons a salesperson sees stay true; chat never alerts on them. The columns
    of segment_high_intent (int_activation_leads). -#}
select
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
    recycled_in_interval
from {{ ref('int_activation_leads') }}
where not in_segment
