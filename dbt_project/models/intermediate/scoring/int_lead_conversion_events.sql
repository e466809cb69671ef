{#- What converts, by macro conversion_event() (the var, else INTENT_CONVERSION_EVENT): one row per
    CRM lead and moment it converted (a lead may convert several times; lead_conversion_examples takes the first one in its window).
      conversion_event = opportunity_created   an opportunity on the lead was created (created_at)
                         stage_reached         an opportunity on the lead reached var conversion_stage
                                               or a later stage of var opportunity_stages, as any
                                               export showed it (at that version's stage_changed_at,
                                               else its closed_at, else the export's interval: never
                                               earlier than it was seen, so no label leaks backwards)
                         opportunity_won       an opportunity on the lead was won (closed_at, else
                                               stage_changed_at, else the export's interval)
                         order_placed          an order on the lead (ordered_at)
    A closed-lost opportunity never reached a named stage here: the export does not say how far it
    went. -#}
-- every source of a conversion is a parent whatever the var says (the unit tests switch it)
-- depends_on: {{ ref('stg_crm__opportunities') }}
-- depends_on: {{ ref('stg_crm__opportunity_versions') }}
-- depends_on: {{ ref('stg_crm__orders') }}
{%- set event = conversion_event() %}
{%- set events = ['opportunity_created', 'stage_reached', 'opportunity_won', 'order_placed'] %}
{%- if event not in events %}
    {{ exceptions.raise_compiler_error("conversion_event (var or INTENT_CONVERSION_EVENT) must be one of " ~ events | join(', ') ~ ", got '" ~ event ~ "'") }}
{%- endif %}
{%- set stages = var('opportunity_stages') | map('lower') | list %}
{%- set stage = var('conversion_stage') | lower %}
{%- if event == 'stage_reached' and stage not in stages %}
    {{ exceptions.raise_compiler_error("var conversion_stage '" ~ var('conversion_stage') ~ "' is not one of var opportunity_stages: " ~ var('opportunity_stages') | join(', ')) }}
{%- endif %}
with

{%- if event == 'opportunity_created' %}

conversions as (
    select lead_id, created_at as converted_at
    from {{ ref('stg_crm__opportunities') }}
),

{%- elif event == 'stage_reached' %}

conversions as (
    select
        lead_id,
        coalesce(stage_changed_at, cast(closed_at as timestamp), cast(_interval_start as timestamp)) as converted_at
    from {{ ref('stg_crm__opportunity_versions') }}
    where lower(trim(stage)) in (
        {%- for s in stages[stages.index(stage):] %}'{{ s | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
),

{%- elif event == 'opportunity_won' %}

conversions as (
    select
        lead_id,
        coalesce(cast(closed_at as timestamp), stage_changed_at, cast(_interval_start as timestamp)) as converted_at
    from {{ ref('stg_crm__opportunity_versions') }}
    where is_won
),

{%- else %}

conversions as (
    select lead_id, ordered_at as converted_at
    from {{ ref('stg_crm__orders') }}
),

{%- endif %}

final as (
    select distinct
        cast(lead_id as {{ sql_type('varchar') }}) as lead_id,
        cast(converted_at as timestamp) as converted_at
    from conversions
    where lead_id is not null
        and converted_at is not null
)

select * from final
