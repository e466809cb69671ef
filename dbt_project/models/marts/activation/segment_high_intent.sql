{#- The people activation pushes to the CRM and alerts on: high intent, reachable by email, not
    yet a customer, and not opted out or bounced; with the owner the CRM has, or the one lead
    routing chose (lead_assignments: owner name, the CRM's owner id, team; recycled leads alerted
    again). Columns and the owner rule: int_activation_leads. -#}
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
where in_segment
