"""Header mapping of the CRM export's four reports, as data.

A file's report is chosen by its name (``leads*.csv``, ``opportunities*.csv``,
``orders*.csv``, ``activities*.csv``); a file with another name is recognised by its header row.
"""

from __future__ import annotations

CRM_FORMATS: dict[str, dict] = {
    "crm_leads": {
        "prefix": "leads",
        "columns": {
            "Lead ID": "lead_id",
            "Email": "email",
            "Phone": "phone",
            "Name": "full_name",
            "Company": "company",
            "Title": "job_title",
            "Industry": "industry",
            "Employees": "company_size",
            "Region": "region",
            "Owner": "owner",
            "Status": "status",
            "Lead Source": "lead_source",
            "Created Date": "created_at",
            "Last Modified Date": "updated_at",
            # Salesforce's HasOptedOutOfEmail as its reports label it (HubSpot: hs_email_optout); optional
            "Email Opt Out": "email_opt_out",
        },
        # The record id and its date (contract); a file without either column is rejected whole.
        "required": ("lead_id", "created_at"),
    },
    "crm_opportunities": {
        "prefix": "opportunities",
        "columns": {
            "Opportunity ID": "opportunity_id",
            "Lead ID": "lead_id",
            "Opportunity Name": "opportunity_name",
            "Stage": "stage",
            "Amount": "amount",
            "Currency": "currency",
            "Created Date": "created_at",
            "Close Date": "closed_at",
            # Salesforce's LastStageChangeDate (HubSpot: the deal's hs_date_entered_<stage>); optional:
            # without it the funnel's stall rules date a stage from the exports that showed it
            "Last Stage Change Date": "stage_changed_at",
        },
        "required": ("opportunity_id", "created_at"),
    },
    "crm_orders": {
        "prefix": "orders",
        "columns": {
            "Order ID": "order_id",
            "Lead ID": "lead_id",
            "Email": "email",
            "Amount": "amount",
            "Currency": "currency",
            "Order Date": "ordered_at",
        },
        "required": ("order_id", "ordered_at"),
    },
    # Sales follow-up on a lead by its owner; Type is Call, Email, Meeting or Task (staging lower-cases it).
    "crm_activities": {
        "prefix": "activities",
        "columns": {
            "Activity ID": "activity_id",
            "Lead ID": "lead_id",
            "Type": "activity_type",
            "Subject": "subject",
            "Owner": "owner",
            "Activity Date": "activity_at",
            # optional: a call's disposition (Connected, No answer, Left voicemail, Busy, Wrong number) or a
            # meeting's outcome (Completed, No show, Canceled, Rescheduled, Scheduled), as HubSpot logs them
            # (Salesforce: the task's Call Result); absent or empty = unknown
            "Outcome": "outcome",
        },
        "required": ("activity_id", "activity_at"),
    },
}

# Opportunity stages that end a deal; is_won only for the first.
WON_STAGES = frozenset({"closed won"})
LOST_STAGES = frozenset({"closed lost"})
