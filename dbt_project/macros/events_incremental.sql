{#- The incremental event stream and journeys (int_events_unified, int_attribution_journeys;
    docs/incremental.md, "Events and journeys"). Kept and scratch tables are named after the model
    (`<this>__<suffix>`, macro identity_scratch), in its schema; portable SQL. -#}

{#- What int_events_unified's rows depend on besides their staging rows and their nodes' persons: the
    currency rule (var default_currency, seed currency_rates). A change of either rebuilds it whole. -#}
{% macro events_unified_fingerprint() -%}
    {{- return(config_fingerprint({'default_currency': var('default_currency')}, ['currency_rates'])) -}}
{%- endmacro %}

{#- What a journey depends on besides its person's touches and conversions (both compared row for row
    through int_attribution_journeys' digests): the lookback. The conversion event's var changes the
    conversions themselves, and is in the fingerprint too so that a change of it rebuilds every journey. -#}
{% macro attribution_journeys_fingerprint() -%}
    {{- return(config_fingerprint({
        'attribution_conversion_event': var('attribution_conversion_event'),
        'attribution_lookback_days': var('attribution_lookback_days'),
    }, [])) -}}
{%- endmacro %}

{#- True when {{ this }} exists as an incremental table, the run before kept its state (every one of
    `kept`, suffixes of identity_scratch) and its fingerprint (`<this>__fingerprint`) is `fingerprint`:
    then a daily run may recompute part of the model. Logs why not otherwise. -#}
{% macro kept_state_matches(fingerprint, kept) -%}
    {%- if not execute or not is_incremental() -%}{{- return(false) -}}{%- endif -%}
    {%- for suffix in kept + ['fingerprint'] -%}
        {%- set table = identity_scratch(suffix) -%}
        {%- if adapter.get_relation(database=table.database, schema=table.schema, identifier=table.identifier) is none -%}
            {{ log(this.identifier ~ ': no kept ' ~ suffix ~ ' (first incremental run): every row computed again', info=true) }}
            {{- return(false) -}}
        {%- endif -%}
    {%- endfor -%}
    {%- set kept_fingerprint = run_query('select fingerprint from ' ~ identity_scratch('fingerprint')).columns[0].values() -%}
    {%- if kept_fingerprint | length != 1 or kept_fingerprint[0] != fingerprint -%}
        {{ log(this.identifier ~ ': settings or seeds changed since the last run (fingerprint): every row computed again', info=true) }}
        {{- return(false) -}}
    {%- endif -%}
    {{- return(true) -}}
{%- endmacro %}

{#- Statements of the post_hook of a model that decided with kept_state_decide: keep the fingerprint it
    decided with for the next run's kept_state_matches, and drop the decision. `decided` is
    kept_state_decided(); `fingerprint`, the model's fingerprint macro, is called only on a full build
    (nothing was decided), so that every run computes the fingerprint (a query of the seeds) once. -#}
{% macro keep_decided_fingerprint(decided, fingerprint) -%}
    drop table if exists {{ identity_scratch('fingerprint') }};
    create table {{ identity_scratch('fingerprint') }} as
    select cast('{{ decided.fingerprint if decided else fingerprint() }}' as {{ sql_type('varchar') }}) as fingerprint;
    drop table if exists {{ identity_scratch('decision') }}
{%- endmacro %}

{#- The one way a model with kept state decides, once per run, in its body, whether this run may compute
    part of it: an incremental run whose kept state (every one of `kept`, suffixes of identity_scratch)
    is there and whose fingerprint matches (kept_state_matches, which logs why not), and `usable` (the
    model's own condition, e.g. no tf_adjust; it logs its own reason). `fingerprint` is the model's
    fingerprint macro (a query of the seeds), called here once and only on an incremental run. The
    decision and the fingerprint are kept in the scratch `<this>__decision` for the model's hooks
    (kept_state_decided, keep_decided_fingerprint), so that the model and its hooks read one answer and
    never compute the fingerprint again. False, and nothing kept, on a full build. Used by
    int_events_unified, int_attribution_journeys, int_identity_match_evidence and the identity models
    incremental per record (identity_records_scope). -#}
{% macro kept_state_decide(fingerprint, kept, usable=true) -%}
    {%- if not execute or not is_incremental() -%}{{- return(false) -}}{%- endif -%}
    {%- set now = fingerprint() -%}
    {%- set recompute = usable and kept_state_matches(now, kept) -%}
    {%- set decision = identity_scratch('decision') -%}
    {%- call statements('kept_state_decide') -%}
        drop table if exists {{ decision }};
        create table {{ decision }} as
        select cast('{{ now }}' as {{ sql_type('varchar') }}) as fingerprint,
            {{ 'true' if recompute else 'false' }} as recompute
    {%- endcall -%}
    {{- return(recompute) -}}
{%- endmacro %}

{#- In a hook of a model that called kept_state_decide: {'recompute': …, 'fingerprint': …} as the model
    decided on this run, or none on a full build (nothing was decided). -#}
{% macro kept_state_decided() -%}
    {%- if not execute or not is_incremental() -%}{{- return(none) -}}{%- endif -%}
    {%- set row = run_query('select fingerprint, recompute from ' ~ identity_scratch('decision')).rows[0] -%}
    {{- return({'fingerprint': row[0], 'recompute': row[1] in (true, 1, 'true')}) -}}
{%- endmacro %}

{#- True when int_events_unified's run may compute part of it: an incremental run whose kept state
    (the node -> person map, the CRM records' hashes, the fingerprint) is there and matches. Decided
    once, in the model's body (kept_state_decide); the hooks read the decision. -#}
{% macro events_unified_recompute() -%}
    {{- return(kept_state_decide(events_unified_fingerprint, ['nodes', 'crm'])) -}}
{%- endmacro %}

{#- The CRM records int_events_unified makes events of, one row each: record_type (opportunity, order),
    record_id, the node keys that give its person (node_lead, node_email) and row_hash, a hash of every
    column of the staging row its events read (an opportunity's created and won events, an order's
    event), so that a record whose events can differ is found by comparing hashes. `opportunities`,
    `orders`: the current-state CRM staging models. -#}
{% macro events_crm_records(opportunities, orders) -%}
    select
        'opportunity' as record_type,
        opportunity_id as record_id,
        {{ node_key('crm_lead', 'lead_id') }} as node_lead,
        cast(null as {{ sql_type('varchar') }}) as node_email,
        {{ identity_row_hash(['opportunity_id', 'lead_id', 'created_at', 'closed_at', 'is_won', 'amount', 'currency']) }} as row_hash
    from {{ opportunities }}
    union all
    select
        'order',
        order_id,
        {{ node_key('crm_lead', 'lead_id') }},
        {{ node_key('email', 'email') }},
        {{ identity_row_hash(['order_id', 'lead_id', 'email', 'ordered_at', 'amount', 'currency']) }}
    from {{ orders }}
{%- endmacro %}

{#- int_events_unified, at render time of a run for which events_unified_recompute() held: scratch
    tables of what the run computes again.
      `<this>__nodes_changed`: every node whose person is not the one this model last attached
        (`<this>__nodes`, node -> person as int_people_resolved had it): a merge, a split, a node cut
        or gone from the graph, a node that is new. A stored event's person is the person of its
        nodes, so the events of these nodes are the only stored ones whose person can differ from a
        full build's. Compared directly rather than through int_identity_person_ids.changed_on, which
        marks neither a new node (changed_on null) nor a node gone from the graph (it keeps its last row).
      `<this>__forms_touched` (submission_key), `<this>__email_touched` (sg_event_id): the staging rows
        of the window's partitions (the only rows staging inserted or replaced: an incremental staging
        model writes nothing else) and the rows with a node among the changed ones.
      `<this>__crm_now` (events_crm_records now) and `<this>__crm_touched` (record_type, record_id): the
        CRM records whose hash differs from the one kept in `<this>__crm` or that exist on one side only
        (a new version, the version before it back after a purge, a record gone), and those with a node
        among the changed ones. Compared by hash rather than by partition: a purge brings back an older
        version, whose partition is outside the window. -#}
{% macro events_recompute_scope(people, forms, email, opportunities, orders) -%}
    {%- set changed = identity_scratch('nodes_changed') -%}
    {%- call statements('events_recompute_scope') -%}
        drop table if exists {{ changed }};
        create table {{ changed }} as
        select coalesce(people_now.node_key, kept.node_key) as node_key
        from (select node_key, person_id from {{ people }}) as people_now
        full outer join {{ identity_scratch('nodes') }} as kept
            on kept.node_key = people_now.node_key
        where people_now.person_id is distinct from kept.person_id;
        drop table if exists {{ identity_scratch('forms_touched') }};
        create table {{ identity_scratch('forms_touched') }} as
        select submission_key
        from {{ forms }} as forms
        where {{ in_lake_window('forms._interval_start') }}
            or {{ node_key('email', 'forms.email') }} in (select node_key from {{ changed }})
            or {{ node_key('phone', 'forms.phone') }} in (select node_key from {{ changed }})
            or {{ node_key('web', 'forms.client_id') }} in (select node_key from {{ changed }})
            or {{ node_key('form', 'forms.submission_key') }} in (select node_key from {{ changed }});
        drop table if exists {{ identity_scratch('email_touched') }};
        create table {{ identity_scratch('email_touched') }} as
        select email.sg_event_id
        from {{ email }} as email
        where {{ in_lake_window('email._interval_start') }}
            or {{ node_key('email', 'email.email') }} in (select node_key from {{ changed }});
        drop table if exists {{ identity_scratch('crm_now') }};
        create table {{ identity_scratch('crm_now') }} as {{ events_crm_records(opportunities, orders) }};
        drop table if exists {{ identity_scratch('crm_touched') }};
        create table {{ identity_scratch('crm_touched') }} as
        select coalesce(crm_now.record_type, kept.record_type) as record_type,
            coalesce(crm_now.record_id, kept.record_id) as record_id
        from {{ identity_scratch('crm_now') }} as crm_now
        full outer join {{ identity_scratch('crm') }} as kept
            on kept.record_type = crm_now.record_type and kept.record_id = crm_now.record_id
        where crm_now.row_hash is distinct from kept.row_hash
        union
        select record_type, record_id
        from {{ identity_scratch('crm_now') }}
        where node_lead in (select node_key from {{ changed }})
            or node_email in (select node_key from {{ changed }})
    {%- endcall -%}
    {%- set counts = run_query(
        'select (select count(*) from ' ~ changed ~ '), (select count(*) from ' ~ identity_scratch('forms_touched')
        ~ '), (select count(*) from ' ~ identity_scratch('email_touched') ~ '), (select count(*) from '
        ~ identity_scratch('crm_touched') ~ ')'
    ).rows[0] -%}
    {{ log('int_events_unified: ' ~ counts[0] ~ ' identity nodes changed person since the last run; '
        ~ counts[1] ~ ' form submissions and ' ~ counts[2] ~ ' email events computed again; '
        ~ counts[3] ~ ' CRM records computed again', info=true) }}
{%- endmacro %}

{#- pre_hook of int_events_unified. A full computation (the model decided so: its fingerprint changed,
    or no kept state) of an existing table: every row goes. A daily run: the form, email and CRM events
    the run computes again (`<this>__forms_touched`, `<this>__email_touched`, `<this>__crm_touched`:
    their rows, if any, are inserted again), and the form and email events whose staging row is gone (a
    purged or re-extracted partition; an erasure deletes its rows itself; a CRM record gone is in
    `<this>__crm_touched`). -#}
{% macro delete_events_recomputed(forms, email) -%}
    {%- set decided = kept_state_decided() -%}
    {%- if decided and not decided.recompute -%}
        delete from {{ this }}
    {%- elif decided -%}
        {%- set crm = identity_scratch('crm_touched') -%}
        delete from {{ this }}
        where (source = 'crm' and event_id in (
                select 'crm:' || record_id || ':created' from {{ crm }} where record_type = 'opportunity'
                union all
                select 'crm:' || record_id || ':won' from {{ crm }} where record_type = 'opportunity'
                union all
                select 'crm:' || record_id || ':order' from {{ crm }} where record_type = 'order'))
            or (source = 'forms' and event_id in (select 'forms:' || submission_key from {{ identity_scratch('forms_touched') }}))
            or (source = 'email' and event_id in (select 'email:' || sg_event_id from {{ identity_scratch('email_touched') }}))
            or (source = 'forms' and event_id not in (
                select 'forms:' || submission_key from {{ forms }} where submission_key is not null))
            or (source = 'email' and event_id not in (
                select 'email:' || sg_event_id from {{ email }} where sg_event_id is not null))
    {%- endif -%}
{%- endmacro %}

{#- post_hook of int_events_unified: keep the node -> person map it attached, the CRM records' hashes
    and its fingerprint for the next run, drop the scratch. A daily run updates the kept map for the
    changed nodes only. The fingerprint is the one the model decided with (keep_decided_fingerprint). -#}
{% macro events_unified_kept_state(people, opportunities, orders) -%}
    {%- set decided = kept_state_decided() -%}
    {%- set recompute = decided and decided.recompute -%}
    {%- set kept = identity_scratch('nodes') -%}
    {%- set sql -%}
    {%- if recompute %}
    delete from {{ kept }} where node_key in (select node_key from {{ identity_scratch('nodes_changed') }});
    insert into {{ kept }} (node_key, person_id)
    select node_key, person_id from {{ people }}
    where node_key in (select node_key from {{ identity_scratch('nodes_changed') }});
    drop table if exists {{ identity_scratch('crm') }};
    create table {{ identity_scratch('crm') }} as
    select record_type, record_id, row_hash from {{ identity_scratch('crm_now') }};
    {%- else %}
    drop table if exists {{ kept }};
    create table {{ kept }} as select node_key, person_id from {{ people }};
    drop table if exists {{ identity_scratch('crm') }};
    create table {{ identity_scratch('crm') }} as
    select record_type, record_id, row_hash from ({{ events_crm_records(opportunities, orders) }}) as crm_records;
    {%- endif %}
    {{ keep_decided_fingerprint(decided, events_unified_fingerprint) }};
    {# this step's own scratch tables dropped by name: the other hooks' drop lists name other tables #}
    drop table if exists {{ identity_scratch('nodes_changed') }};
    drop table if exists {{ identity_scratch('forms_touched') }};
    drop table if exists {{ identity_scratch('email_touched') }};
    drop table if exists {{ identity_scratch('crm_now') }};
    drop table if exists {{ identity_scratch('crm_touched') }}
    {%- endset -%}
    {{- hook_statements(sql) -}}
{%- endmacro %}

{#- One digest of a set of rows (`value`: each row as text) per group, the same whatever the rows'
    order. DuckDB: the sum of the rows' 64-bit hashes and their count; elsewhere md5 of the sorted rows. -#}
{% macro row_set_digest(value) -%}
    {{- return(adapter.dispatch('row_set_digest')(value)) -}}
{%- endmacro %}

{% macro default__row_set_digest(value) -%}
    {{ dbt.hash(dbt.listagg(value, "'|'", 'order by ' ~ value)) }}
{%- endmacro %}

{% macro duckdb__row_set_digest(value) -%}
    cast(sum(cast(hash({{ value }}) as hugeint)) as varchar) || ':' || cast(count(*) as varchar)
{%- endmacro %}

{#- Kept digests per key: a model whose rows for one value of `key` are a function of that key's input
    rows (and of settings and seeds, its fingerprint) keeps one digest per key of those rows
    (`<this>__inputs`: key, digest) and recomputes, on a daily run, only the keys whose digest differs or
    exists on one side only: a row added, changed or gone anywhere, whatever its partition. A null key
    (rows without one) is a key of its own. Used by web_consent_daily (per event_date) and
    int_attribution_journeys (per person_id). The run decides
    with kept_state_decide(fingerprint, ['inputs']); then, at render time, kept_digests_scope. -#}

{#- `<this>__inputs_now` (`inputs`, a select of key and digest) and `<this>__<changed>`: the keys whose
    digest is not the kept one (null keys compared apart: a join never pairs them). Logs the count
    followed by `described`. -#}
{% macro kept_digests_scope(key, inputs, described, changed='keys_changed') -%}
    {%- set now = identity_scratch('inputs_now') -%}
    {%- set kept = identity_scratch('inputs') -%}
    {%- set changed = identity_scratch(changed) -%}
    {%- call statements('kept_digests_scope') -%}
        drop table if exists {{ now }};
        create table {{ now }} as {{ inputs }};
        drop table if exists {{ changed }};
        create table {{ changed }} as
        select coalesce(now_inputs.{{ key }}, kept.{{ key }}) as {{ key }}
        from {{ now }} as now_inputs
        full outer join {{ kept }} as kept
            on kept.{{ key }} = now_inputs.{{ key }}
        where now_inputs.digest is distinct from kept.digest
            and coalesce(now_inputs.{{ key }}, kept.{{ key }}) is not null
        union all
        select null_keys.{{ key }}
        from (
            select {{ key }} from {{ now }} where {{ key }} is null
            union
            select {{ key }} from {{ kept }} where {{ key }} is null
        ) as null_keys
        where (select digest from {{ now }} where {{ key }} is null)
            is distinct from (select digest from {{ kept }} where {{ key }} is null)
    {%- endcall -%}
    {%- set count = run_query('select count(*) from ' ~ changed).columns[0].values()[0] -%}
    {{ log(this.identifier ~ ': ' ~ count ~ ' ' ~ described, info=true) }}
{%- endmacro %}

{#- A SQL condition: the row's `key` is one of the keys kept_digests_scope found changed (its scratch
    `changed`), null among them. -#}
{% macro kept_digests_changed(key, changed='keys_changed') -%}
    {%- set changed = identity_scratch(changed) -%}
    ({{ key }} in (select {{ key }} from {{ changed }} where {{ key }} is not null)
        or ({{ key }} is null and exists (select 1 from {{ changed }} where {{ key }} is null)))
{%- endmacro %}

{#- pre_hook of a model with kept digests: the rows of the keys computed again (kept_digests_changed of
    `key` and the scope's scratch `changed`; a key left without input loses them; null keys too, which
    delete+insert's own delete never matches), or every row when the run computes all (the model's
    decision). Nothing on a full build. web_consent_daily (event_date) and int_attribution_journeys
    (person_id, persons_changed). -#}
{% macro delete_kept_digests_changed(key, changed='keys_changed') -%}
    {%- set decided = kept_state_decided() -%}
    {%- if decided and decided.recompute -%}
        delete from {{ this }} where {{ kept_digests_changed(key, changed) }}
    {%- elif decided -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- post_hook of a model with kept digests: keep this run's digests (`inputs`, computed again only when
    the run did not) and the fingerprint it decided with, drop the scratch (the inputs now and the
    scratch of what changed, `changed`). -#}
{% macro keep_kept_digests(inputs, fingerprint, changed='keys_changed') -%}
    {%- set kept = identity_scratch('inputs') -%}
    {%- set decided = kept_state_decided() -%}
    {%- set sql -%}
    drop table if exists {{ kept }};
    {%- if decided and decided.recompute %}
    create table {{ kept }} as select * from {{ identity_scratch('inputs_now') }};
    {%- else %}
    create table {{ kept }} as {{ inputs }};
    {%- endif %}
    {{ keep_decided_fingerprint(decided, fingerprint) }};
    drop table if exists {{ identity_scratch('inputs_now') }};
    drop table if exists {{ identity_scratch(changed) }}
    {%- endset -%}
    {{- hook_statements(sql) -}}
{%- endmacro %}

{#- One row's value for row_set_digest: `columns` (SQL expressions) together, nulls kept apart from every
    value. DuckDB hashes the columns together, building no text (on the 469,277 web events of a 20,000-person
    day 0.021 CPU-s against 0.159 for the text: docs/incremental.md, consentfix); elsewhere one text of the
    columns, '~' for null. -#}
{% macro row_digest_value(columns) -%}
    {{- return(adapter.dispatch('row_digest_value')(columns)) -}}
{%- endmacro %}

{% macro default__row_digest_value(columns) -%}
    {%- set fields = [] -%}
    {%- for column in columns -%}
        {%- do fields.append("coalesce(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ "), '~')") -%}
    {%- endfor -%}
    {{ fields | join(" || '|' || ") }}
{%- endmacro %}

{% macro duckdb__row_digest_value(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{#- The conversions of int_attribution_journeys: events of type var attribution_conversion_event with a
    person; the value is the amount in the reporting currency (0 without an amount, null without a
    rate). A select of conversion_id, person_id, converted_at, conversion_value. -#}
{% macro attribution_conversions(events) -%}
    select
        events.event_id as conversion_id,
        events.person_id,
        events.event_at as converted_at,
        case
            when events.amount is null then 0.0
            else events.amount_reporting
        end as conversion_value
    from {{ events }} as events
    where events.event_type = '{{ var("attribution_conversion_event") }}'
        and events.person_id is not null
{%- endmacro %}

{#- One row per person with touches or conversions: person_id and the digest (row_set_digest) of
    every input of their journeys: each touch's id, time, channel and campaign (`touches`:
    int_touchpoints) and each conversion's id, time and value (`events`: int_events_unified). -#}
{% macro journey_inputs(events, touches) -%}
    {%- set text = sql_type('varchar') -%}
    select person_id, {{ row_set_digest('input_row') }} as digest
    from (
        select
            person_id,
            't|' || touch_id || '|' || coalesce(cast(touched_at as {{ text }}), '-') || '|'
                || coalesce(channel, '-') || '|' || coalesce(campaign, '-') as input_row
        from {{ touches }}
        where person_id is not null
        union all
        select
            person_id,
            'c|' || conversion_id || '|' || coalesce(cast(converted_at as {{ text }}), '-') || '|'
                || coalesce(cast(conversion_value as {{ text }}), '-')
        from ({{ attribution_conversions(events) }}) as conversions
    ) as inputs
    group by person_id
{%- endmacro %}

{#- True when int_attribution_journeys' run may compute part of it (kept digests and fingerprint there
    and matching). Decided once, in the model's body (kept_state_decide); the hooks read the decision. -#}
{% macro journeys_recompute() -%}
    {{- return(kept_state_decide(attribution_journeys_fingerprint, ['inputs'])) -}}
{%- endmacro %}

{#- int_attribution_journeys, at render time of a run for which journeys_recompute() held: the scratch
    `<this>__inputs_now` (journey_inputs now) and `<this>__persons_changed`, the persons whose digest
    differs from the kept one (`<this>__inputs`) or who have one on one side only: a new touch, a new
    conversion, a touch or conversion changed or gone, a merge or a split (the person's rows change).
    kept_digests_scope per person (journey_inputs has no null person). -#}
{% macro journeys_recompute_scope(events, touches) -%}
    {%- do kept_digests_scope('person_id', journey_inputs(events, touches),
        'persons with changed touches or conversions, journeys computed again', 'persons_changed') -%}
{%- endmacro %}

{#- post_hook of int_attribution_journeys: keep the persons' digests and the fingerprint for the next
    run (those the model decided with), drop the scratch. -#}
{% macro journeys_kept_state(events, touches) -%}
    {{- keep_kept_digests(journey_inputs(events, touches), attribution_journeys_fingerprint, 'persons_changed') -}}
{%- endmacro %}
