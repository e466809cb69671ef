"""CRM history export (Salesforce-report-style CSVs) into ``crm_leads``, ``crm_opportunities``, ``crm_orders``,
``crm_activities``."""
