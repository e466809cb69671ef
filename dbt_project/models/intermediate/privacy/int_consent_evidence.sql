{#- Every piece of evidence of a person's consent to a purpose, one row per (evidence, purpose):
    - a form whose consent checkbox was ticked grants the purposes of var consent_form_purposes
      (an unticked box grants nothing and withdraws nothing: silence is not consent, nor a withdrawal);
    - an email unsubscribe (also a group unsubscribe) or a spam report withdraws email_marketing,
      a resubscribe grants it again (SendGrid events);
    - a CRM lead whose email opt-out is ticked withdraws email_marketing (Salesforce
      HasOptedOutOfEmail, HubSpot hs_email_optout), dated by the lead's last modification;
    - a manual record of the seed consent_records grants or withdraws one purpose, or every
      purpose with purpose `all`, for the person holding the identifier.
    Evidence whose person is unknown (an identifier no record carries) is left out. -#}
with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

forms as (
    select * from {{ ref('stg_forms__submissions') }}
),

events as (
    select * from {{ ref('int_events_unified') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

people_nodes as (
    select * from {{ ref('int_people_resolved') }}
),

manual_records as (
    select * from {{ ref('consent_records') }}
),

purposes as (
    {%- for purpose in consent_purposes() %}
    select '{{ purpose }}' as purpose
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

form_grants as (
    select
        events.person_id,
        purposes.purpose,
        true as is_granted,
        'form_consent' as evidence_source,
        events.event_id as evidence_id,
        forms.submitted_at as evidence_at
    from forms
    inner join events
        on events.event_id = 'forms:' || forms.submission_key
    inner join purposes
        on purposes.purpose in (
            {%- for purpose in var('consent_form_purposes') %}'{{ purpose }}'{{ ", " if not loop.last }}{% endfor -%}
        )
    where forms.consent_given
        and events.person_id is not null
),

email_changes as (
    select
        person_id,
        'email_marketing' as purpose,
        event_type = 'email_resubscribe' as is_granted,
        event_type as evidence_source,
        event_id as evidence_id,
        event_at as evidence_at
    from events
    where event_type in ('email_unsubscribe', 'email_spamreport', 'email_resubscribe')
        and person_id is not null
),

crm_opt_outs as (
    select
        people_nodes.person_id,
        'email_marketing' as purpose,
        false as is_granted,
        'crm_email_opt_out' as evidence_source,
        'crm_lead:' || leads.lead_id as evidence_id,
        leads.updated_at as evidence_at
    from leads
    {{ join_lead_person('leads.lead_id') }}
    where leads.has_opted_out_of_email
),

manual as (
    select
        people_nodes.person_id,
        purposes.purpose,
        case
            when lower(trim(manual_records.granted)) in ('true', 'granted', 'yes', '1') then true
            when lower(trim(manual_records.granted)) in ('false', 'denied', 'withdrawn', 'no', '0') then false
        end as is_granted,
        'manual' as evidence_source,
        'consent_records:' || manual_records.identifier || ':' || manual_records.purpose
            || ':' || cast(manual_records.recorded_at as {{ sql_type('varchar') }}) as evidence_id,
        cast(manual_records.recorded_at as timestamp) as evidence_at
    from manual_records
    inner join people_nodes
        on people_nodes.node_key = {{ identity_decision_node('manual_records.identifier') }}
    inner join purposes
        on lower(trim(manual_records.purpose)) in (purposes.purpose, 'all')
    -- a value that is neither (the seed's tests name it) decides nothing
    where lower(trim(manual_records.granted)) in ('true', 'granted', 'yes', '1', 'false', 'denied', 'withdrawn', 'no', '0')
),

unioned as (
    select * from form_grants
    union all
    select * from email_changes
    union all
    select * from crm_opt_outs
    union all
    select * from manual
),

-- the relation's column types, one cast a column: alike in shape only to other typed selects, other columns
final as (
    select
        cast(person_id as {{ sql_type('varchar') }}) as person_id,
        cast(purpose as {{ sql_type('varchar') }}) as purpose,
        cast(is_granted as boolean) as is_granted,
        cast(evidence_source as {{ sql_type('varchar') }}) as evidence_source,
        cast(evidence_id as {{ sql_type('varchar') }}) as evidence_id,
        cast(evidence_at as timestamp) as evidence_at
    from unioned
)

select * from final
