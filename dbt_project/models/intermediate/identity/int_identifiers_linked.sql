{#- Edges of the identity graph, each with the rule that made it and its confidence.
    same_record: one record (a form submission, a CRM lead, an order, a web device/login pair, a
    mailed address) holds both identifiers, after the guards (int_identity_record_nodes); linked as
    a star around the record's anchor (same connectivity as all pairs, fewer edges), the anchor's
    self edge keeping single-identifier records in the graph; confidence 1. sources lists the
    record sources (forms, web, email, crm_leads, …) that made the link.
    probabilistic: two records that share no exact key matched by Fellegi-Sunter evidence above
    var identity_match_threshold (int_identity_match_pairs); confidence = match probability.
    must_link, detached: a data steward's decision (int_identity_decision_links). -#}
with

record_nodes as (
    select * from {{ ref('int_identity_record_nodes') }}
),

{% if var('identity_probabilistic_matching', true) %}
match_pairs as (
    select * from {{ ref('int_identity_match_pairs') }}
),

records as (
    select * from {{ ref('int_identity_records') }}
),
{% endif %}

same_record as (
    select
        anchor_key as node_a,
        node_key as node_b,
        'same_record' as link_rule,
        cast(1.0 as {{ sql_type('double precision') }}) as confidence,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as record_count,
        {{ dbt.listagg('distinct record_source', "','", "order by record_source") }} as sources
    from record_nodes
    group by anchor_key, node_key
),

{% if var('identity_probabilistic_matching', true) %}
probabilistic as (
    select
        least(left_record.node_key, right_record.node_key) as node_a,
        greatest(left_record.node_key, right_record.node_key) as node_b,
        'probabilistic' as link_rule,
        cast(max(match_pairs.match_probability) as {{ sql_type('double precision') }}) as confidence,
        min(least(left_record.observed_at, right_record.observed_at)) as first_seen_at,
        max(greatest(left_record.observed_at, right_record.observed_at)) as last_seen_at,
        count(*) as record_count,
        {{ dbt.listagg('distinct left_record.record_source', "','", "order by left_record.record_source") }} as sources
    from match_pairs
    inner join records as left_record
        on left_record.record_id = match_pairs.record_id_l
    inner join records as right_record
        on right_record.record_id = match_pairs.record_id_r
    where left_record.node_key <> right_record.node_key
    group by 1, 2
),
{% endif %}

final as (
    select * from same_record
    {% if var('identity_probabilistic_matching', true) %}
    union all
    select * from probabilistic
    {% endif %}
    -- decisions of the seed identity_decisions: must_link edges, detached identifiers on their own
    union all
    select * from {{ ref('int_identity_decision_links') }}
)

select * from final
