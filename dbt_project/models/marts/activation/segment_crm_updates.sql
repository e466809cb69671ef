{#- People who were high intent (lead routing assigned them) and left segment_high_intent since:
    their score fell, or they became a customer, unsubscribed or bounced. Activation sends them to
    a CRM only where that CRM received them before (the destination's ledger has them), so the
    grade, score and reasons a salesperson sees stay true; chat never alerts on them. The columns
    of segment_high_intent (int_activation_leads). -#}
select
    {{ activation_segment_columns() }}
from {{ ref('int_activation_leads') }}
where not in_segment
    -- only a CRM reads it: consent to crm_sync (docs/privacy.md)
    and consent_crm_sync
