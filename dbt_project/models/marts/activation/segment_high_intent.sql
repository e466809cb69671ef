{#- The people activation pushes to the CRM and alerts on: high intent, reachable by email, not
    yet a customer, and not opted out or bounced; with the owner the CRM has, or the one lead
    routing chose (lead_assignments: owner name, the CRM's owner id, team; recycled leads alerted
    again). Columns and the owner rule: int_activation_leads. -#}
select
    {{ activation_segment_columns() }}
from {{ ref('int_activation_leads') }}
where in_segment
