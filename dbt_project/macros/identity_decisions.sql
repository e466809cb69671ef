{#- Data stewards' corrections of the identity graph (seed identity_decisions, docs/identity-decisions.md). -#}

{#- The graph node an identifier typed as `<type>:<value>` stands for, normalised the way the
    warehouse keys it (macro node_key): emails trimmed, lower-cased and canonicalised (Gmail dots and
    +tags, ...), phones without spaces, dashes, dots or brackets and in E.164, other types trimmed.
    Null when the text is not a well-formed identifier of a known type. -#}
{% macro identity_decision_node(text) -%}
    {%- set kind = "lower(trim(" ~ dbt.split_part(text, "':'", 1) ~ "))" -%}
    {%- set raw_value = "trim(substring(" ~ text ~ " from position(':' in " ~ text ~ ") + 1))" -%}
    {%- set email = "lower(" ~ raw_value ~ ")" -%}
    {%- set phone = "regexp_replace(" ~ raw_value ~ ", '[ ().-]', '', 'g')" -%}
    case
        when position(':' in {{ text }}) = 0 then null
        when {{ kind }} = 'email' and {{ regex_search(email, "'^[^@ ,;<>()]+@[^@ ,;<>().][^@ ,;<>()]*[^@ ,;<>().]$'") }}
            then {{ node_key('email', email) }}
        when {{ kind }} = 'phone' and {{ regex_search(phone, "'^[+][1-9][0-9]{6,14}$'") }}
            then 'phone:' || {{ phone }}
        when {{ kind }} in ('web', 'ga4_user', 'crm_lead', 'form') and {{ raw_value }} <> ''
            then {{ kind }} || ':' || {{ raw_value }}
    end
{%- endmacro %}

{#- Every row of the seed, numbered by its line in the CSV (the header is line 1), with its kind and
    identifiers normalised; the interface of int_identity_decisions and of its validation. -#}
{% macro identity_decisions_normalised(seed) -%}
    with

    numbered as (
        select
            seed_rows.*,
            {{ stored_order_row_number() }} + 1 as line_number
        from {{ seed }} as seed_rows
    ),

    normalised as (
        select
            line_number,
            nullif(trim(decision_id), '') as given_id,
            kind,
            replace(lower(trim(kind)), '-', '_') as decision_kind,
            identifier_a,
            identifier_b,
            nullif(trim(identifier_a), '') as given_a,
            nullif(trim(identifier_b), '') as given_b,
            {{ identity_decision_node('identifier_a') }} as node_a,
            {{ identity_decision_node('identifier_b') }} as node_b,
            nullif(trim(author), '') as decided_by,
            nullif(trim(reason), '') as decision_reason,
            nullif(trim(decided_on), '') as given_date,
            {{ regex_search("trim(decided_on)", "'^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'") }} as date_ok
        from numbered
    )

    select
        normalised.*,
        coalesce(given_id, 'line ' || cast(line_number as {{ sql_type('varchar') }})) as decision_id
    from normalised
{%- endmacro %}

{#- One row per problem of the seed: row_label (its line and id) and problem (what is wrong). -#}
{% macro identity_decision_problems(seed) -%}
    with

    decisions as (
        {{ identity_decisions_normalised(seed) }}
    ),

    problems as (
        select line_number, given_id,
            'unknown kind ' || coalesce('''' || kind || '''', '(empty)')
            || ' (expected must_link, cannot_link or detach)' as problem
        from decisions
        where decision_kind is null or decision_kind not in ('must_link', 'cannot_link', 'detach')

        union all
        select line_number, given_id, 'missing author' from decisions where decided_by is null

        union all
        select line_number, given_id, 'missing reason' from decisions where decision_reason is null

        union all
        select line_number, given_id,
            'decided_on ' || coalesce('''' || given_date || '''', '(empty)') || ' is not a date YYYY-MM-DD'
        from decisions
        where given_date is null or not date_ok

        union all
        select line_number, given_id,
            'identifier_a ' || coalesce('''' || given_a || '''', '(empty)') || ' is malformed (expected <type>:<value>, '
            || 'type email, phone in E.164, web, ga4_user, crm_lead or form)'
        from decisions
        where node_a is null

        union all
        select line_number, given_id,
            'identifier_b ' || coalesce('''' || given_b || '''', '(empty)') || ' is malformed (expected <type>:<value>, '
            || 'type email, phone in E.164, web, ga4_user, crm_lead or form)'
        from decisions
        where decision_kind in ('must_link', 'cannot_link') and node_b is null

        union all
        select line_number, given_id, 'a detach names one identifier: identifier_b must be empty'
        from decisions
        where decision_kind = 'detach' and given_b is not null

        union all
        select line_number, given_id, 'identifier_a and identifier_b are the same identifier ' || node_a
        from decisions
        where decision_kind in ('must_link', 'cannot_link') and node_a = node_b

        union all
        select line_number, given_id, 'decision_id ' || given_id || ' is used on more than one line'
        from decisions as this_row
        where given_id is not null
            and exists (
                select 1 from decisions as other
                where other.given_id = this_row.given_id and other.line_number <> this_row.line_number
            )

        union all
        select line_number, given_id,
            'contradicts line ' || cast((
                select min(other.line_number) from decisions as other
                where other.decision_kind in ('must_link', 'cannot_link')
                    and other.decision_kind <> this_row.decision_kind
                    and least(other.node_a, other.node_b) = least(this_row.node_a, this_row.node_b)
                    and greatest(other.node_a, other.node_b) = greatest(this_row.node_a, this_row.node_b)
            ) as {{ sql_type('varchar') }}) || ': the same two identifiers are both must_link and cannot_link'
        from decisions as this_row
        where this_row.decision_kind in ('must_link', 'cannot_link')
            and exists (
                select 1 from decisions as other
                where other.decision_kind in ('must_link', 'cannot_link')
                    and other.decision_kind <> this_row.decision_kind
                    and least(other.node_a, other.node_b) = least(this_row.node_a, this_row.node_b)
                    and greatest(other.node_a, other.node_b) = greatest(this_row.node_a, this_row.node_b)
            )
    )

    select
        'line ' || cast(line_number as {{ sql_type('varchar') }}) || coalesce(' (decision_id ' || given_id || ')', '') as row_label,
        problem,
        line_number
    from problems
{%- endmacro %}

{#- The seed validates, or the build stops here with every bad row named by its line: a wrong
    decision must never silently glue or split people. -#}
{% test valid_identity_decisions(model) %}
    {%- set problems_sql = identity_decision_problems(model) -%}
    {%- if execute -%}
        {%- set found = run_query("select row_label, problem from (" ~ problems_sql ~ ") as p order by line_number, problem") -%}
        {%- if found.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in found.rows -%}
                {%- do lines.append("  " ~ row[0] ~ ": " ~ row[1]) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                "seed identity_decisions (dbt_project/seeds/identity_decisions.csv) has "
                ~ (found.rows | length) ~ " problem(s); fix or remove these rows:\n" ~ (lines | join("\n"))
            ) }}
        {%- endif -%}
    {%- endif %}
    {{ problems_sql }}
{% endtest %}

{#- cannot_link decisions, applied to the graph `edges` (node_a, node_b, link_rule, confidence):
    while a decision's two identifiers are in one connected component, split that component between
    the two sides and cut every link between them. The split is a breadth-first search from both
    identifiers at once: each node goes with the side it is fewer links away from; a node reached
    by both sides in the same step goes with the side of the stronger link (higher confidence), then
    with identifier_a. So however many paths join the two, all are cut; the links cut are the ones
    where the two sides meet (the distance decides, link confidence only breaks ties: this is not a
    minimum cut). One decision per component per round; a component holding several violated
    decisions is split again in the next round (cuts only remove links, so when every violated
    decision was split in a round, no clustering is needed to confirm it). Returns the relation holding the cut links
    (node_a, node_b, link_rule, confidence, decision_id, split_round); `scratch` names the scratch
    tables, as in connected_components. -#}
{% macro identity_cannot_link_cuts(edges, decisions, scratch) %}
    {# its own scratch relations named from `scratch` and filled in steps: alike in shape only to the other graph step's head #}
    {%- set max_steps = var('identity_decision_max_steps', 1000) | int -%}
    {%- set work = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_edges'}) -%}
    {%- set cannot = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_cannot'}) -%}
    {%- set picked = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_picked'}) -%}
    {%- set labels = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_labels'}) -%}
    {%- set kept = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_kept'}) -%}
    {%- set cuts = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc_cuts'}) -%}
    {%- set cc_scratch = scratch.incorporate(path={'identifier': scratch.identifier ~ '__dc'}) -%}

    {%- call statements('dc_setup') -%}
        drop table if exists {{ work }};
        drop table if exists {{ cannot }};
        drop table if exists {{ cuts }};
        drop table if exists {{ kept }};
        create table {{ work }} as
        select distinct node_a, node_b, link_rule, cast(confidence as {{ sql_type('double precision') }}) as confidence
        from {{ edges }}
        where node_a <> node_b;
        create table {{ cannot }} as
        select decision_id, node_a as side_a, node_b as side_b
        from {{ decisions }}
        where decision_kind = 'cannot_link';
        create table {{ cuts }} (
            node_a varchar, node_b varchar, link_rule varchar, confidence double precision,
            decision_id varchar, split_round integer
        );
    {%- endcall -%}

    {%- set decision_count = run_query('select count(*) from ' ~ cannot).columns[0].values()[0] | int -%}
    {%- set ns = namespace(done=false) -%}
    {%- for split_round in range(1, decision_count + 2) if not ns.done -%}
        {%- set components = connected_components(work, cc_scratch) -%}
        {%- call statements('dc_pick') -%}
            drop table if exists {{ picked }};
            create table {{ picked }} as
            select
                cannot.*,
                row_number() over (partition by ca.component_key order by cannot.decision_id) as pick
            from {{ cannot }} as cannot
            inner join {{ components }} as ca on ca.node_key = cannot.side_a
            inner join {{ components }} as cb on cb.node_key = cannot.side_b
            where ca.component_key = cb.component_key;
            drop table {{ components }};
        {%- endcall -%}
        {%- set counts = run_query('select count(*), count(case when pick = 1 then 1 end) from ' ~ picked) -%}
        {%- set violated = counts.columns[0].values()[0] | int -%}
        {%- set splitting = counts.columns[1].values()[0] | int -%}
        {%- if violated == 0 -%}
            {%- set ns.done = true -%}
        {%- else -%}
            {%- if split_round > decision_count -%}
                {{ exceptions.raise_compiler_error("identity_cannot_link_cuts: cannot_link decisions still violated after " ~ decision_count ~ " rounds") }}
            {%- endif -%}
            {%- call statements('dc_seed') -%}
                drop table if exists {{ labels }};
                create table {{ labels }} as
                select side_a as node_key, decision_id, 0 as side, 0 as step from {{ picked }} where pick = 1
                union all
                select side_b, decision_id, 1, 0 from {{ picked }} where pick = 1;
            {%- endcall -%}
            {%- set search = namespace(done=false) -%}
            {%- for step in range(max_steps) if not search.done -%}
                {%- call statements('dc_step') -%}
                    insert into {{ labels }}
                    select node_key, decision_id, side, {{ step + 1 }}
                    from (
                        select
                            arcs.dst as node_key,
                            labels.decision_id,
                            labels.side,
                            row_number() over (
                                partition by arcs.dst order by arcs.confidence desc, labels.side, labels.node_key
                            ) as choice
                        from {{ labels }} as labels
                        inner join (
                            select node_a as src, node_b as dst, confidence from {{ work }}
                            union all
                            select node_b, node_a, confidence from {{ work }}
                        ) as arcs
                            on arcs.src = labels.node_key
                        where labels.step = {{ step }}
                            and not exists (select 1 from {{ labels }} as seen where seen.node_key = arcs.dst)
                    ) as reached
                    where choice = 1;
                {%- endcall -%}
                {%- set reached = run_query('select count(*) from ' ~ labels ~ ' where step = ' ~ (step + 1)).columns[0].values()[0] | int -%}
                {%- if reached == 0 -%}
                    {%- set search.done = true -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if not search.done -%}
                {{ exceptions.raise_compiler_error("identity_cannot_link_cuts: a component is more than " ~ max_steps ~ " links across (var identity_decision_max_steps)") }}
            {%- endif -%}
            {%- call statements('dc_cut') -%}
                insert into {{ cuts }}
                select work.node_a, work.node_b, work.link_rule, work.confidence, la.decision_id, {{ split_round }}
                from {{ work }} as work
                inner join {{ labels }} as la on la.node_key = work.node_a
                inner join {{ labels }} as lb on lb.node_key = work.node_b
                where la.decision_id = lb.decision_id
                    and la.side <> lb.side;
                create table {{ kept }} as
                select * from {{ work }} as work
                where not exists (
                    select 1 from {{ cuts }} as cuts
                    where cuts.node_a = work.node_a
                        and cuts.node_b = work.node_b
                        and cuts.link_rule = work.link_rule
                );
                drop table {{ work }};
                alter table {{ kept }} rename to {{ work.identifier }};
                drop table {{ labels }};
            {%- endcall -%}
            {#- cuts only remove links: when every violated decision was split this round, none is left -#}
            {%- if splitting == violated -%}
                {%- set ns.done = true -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ log("identity_cannot_link_cuts: " ~ decision_count ~ " cannot_link decision(s) applied", info=true) }}
    {%- call statements('dc_done') -%}
        drop table if exists {{ picked }};
        drop table {{ work }};
        drop table {{ cannot }};
    {%- endcall -%}
    {{ return(cuts) }}
{% endmacro %}

{#- `dbt run-operation identity_cannot_link_cuts_table --args '{edges: bench.links, decisions: bench.decisions, target_table: bench.decision_cuts}'`:
    the cannot_link split on any edge table (node_a, node_b, link_rule, confidence) and decision table
    (decision_id, decision_kind, node_a, node_b); bench/identity_decisions.py times it. -#}
{% macro identity_cannot_link_cuts_table(edges, decisions, target_table) %}
    {%- set schema_name, identifier = target_table.split('.') -%}
    {%- set target_relation = api.Relation.create(database=target.database, schema=schema_name, identifier=identifier, type='table') -%}
    {%- set result = identity_cannot_link_cuts(edges, decisions, target_relation) -%}
    {%- call statements('dc_publish') -%}
        drop table if exists {{ target_relation }};
        alter table {{ result }} rename to {{ identifier }};
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ log("identity_cannot_link_cuts_table: wrote " ~ target_table, info=true) }}
{% endmacro %}
