{#- The incremental identity graph (int_identity_components; docs/incremental.md, "Identity"). Scratch
    and kept tables are named after the model (`<this>__<suffix>`), in its schema; portable SQL
    (drop / create table as, except). -#}

{% macro identity_scratch(suffix) -%}
    {{- return(this.incorporate(path={'identifier': this.identifier ~ '__' ~ suffix})) -}}
{%- endmacro %}

{#- True when the run before kept its edges (`<this>__edges`): without them (the first incremental run
    after the model became incremental) every node is clustered. -#}
{% macro identity_components_have_kept_edges() -%}
    {%- set kept = identity_scratch('edges') -%}
    {{- return(adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier) is not none) -}}
{%- endmacro %}

{#- The subgraph to cluster again, as a relation with node_a, node_b: every edge of `links` (the graph
    now) with an end among the affected nodes, i.e. the endpoints of the edges added or removed since
    the kept edges, and every node of their components in {{ this }} (the components before this
    run). Also deletes from {{ this }} the affected nodes that are in no edge now (gone from the
    graph: erased, cut from every record), in the model's transaction. -#}
{% macro identity_components_affected_edges(links) -%}
    {%- set kept = identity_scratch('edges') -%}
    {%- set touched = identity_scratch('touched') -%}
    {%- set affected = identity_scratch('affected') -%}
    {%- set subgraph = identity_scratch('subgraph') -%}
    {%- call statements('identity_affected') -%}
        drop table if exists {{ touched }};
        drop table if exists {{ affected }};
        drop table if exists {{ subgraph }};
        create table {{ touched }} as
        with
        current_edges as (
            select distinct node_a, node_b from {{ links }}
        ),
        changed as (
            (select node_a, node_b from current_edges except select node_a, node_b from {{ kept }})
            union all
            (select node_a, node_b from {{ kept }} except select node_a, node_b from current_edges)
        )
        select node_a as node_key from changed
        union
        select node_b from changed;
        create table {{ affected }} as
        select node_key from {{ touched }}
        union
        select before.node_key
        from {{ this }} as before
        inner join (
            select distinct old.component_key
            from {{ this }} as old
            inner join {{ touched }} as touched on touched.node_key = old.node_key
        ) as old_components
            on old_components.component_key = before.component_key;
        create table {{ subgraph }} as
        select links.node_a, links.node_b
        from {{ links }} as links
        where links.node_a in (select node_key from {{ affected }})
            or links.node_b in (select node_key from {{ affected }});
        delete from {{ this }}
        where node_key in (select node_key from {{ affected }})
            and node_key not in (select node_a from {{ subgraph }} union select node_b from {{ subgraph }});
    {%- endcall -%}
    {%- set counts = run_query(
        'select (select count(*) from ' ~ touched ~ '), (select count(*) from ' ~ affected ~ '), (select count(*) from ' ~ subgraph ~ ')'
    ).rows[0] -%}
    {{ log('int_identity_components: ' ~ counts[0] ~ ' nodes touched by changed edges, ' ~ counts[1]
        ~ ' nodes clustered again (' ~ counts[2] ~ ' edges)', info=true) }}
    {{- return(subgraph) -}}
{%- endmacro %}

{#- Post-hook: keep this run's edges for the next run's comparison, and drop the scratch tables. A
    full build (or --full-refresh) writes them too, so the next daily run is incremental. -#}
{% macro identity_components_kept_edges(links) -%}
    {%- set kept = identity_scratch('edges') -%}
    {%- set sql -%}
    drop table if exists {{ kept }};
    create table {{ kept }} as select distinct node_a, node_b from {{ links }};
    {# this step's own scratch tables dropped by name: the other hooks' drop lists name other tables #}
    drop table if exists {{ identity_scratch('cc_result') }};
    drop table if exists {{ identity_scratch('touched') }};
    drop table if exists {{ identity_scratch('affected') }};
    drop table if exists {{ identity_scratch('subgraph') }}
    {%- endset -%}
    {{- hook_statements(sql) -}}
{%- endmacro %}

{#- What int_identity_match_evidence compares in this run, after preparing its scratch tables:
    `<this>__records_now` (every record's id and a hash of all its columns) and `<this>__keys_now`
    (every record's blocking keys, configured_match_keys, each key hashed: blocks are compared by
    equality only, and the kept copy holds no name or address). Returns a mapping: keys (the keys'
    relation, for configured_match_pairs), compared (a relation of the record ids whose pairs are
    compared again, or none: every pair) and records (the records those pairs need).
    Incremental when the run before kept its records, keys and fingerprint (the configuration and
    the matcher's seeds) and no comparison has tf_adjust (a value's frequency over every record
    changes every pair's weight). Then only the records new or changed since the kept hashes are
    standardised for their keys (an unchanged record keeps its kept keys: a key is a function of
    the record, the configuration and the seeds), and the records compared again are those, and
    every member of a block whose size crossed max_block_size (a block shared by more records finds
    no pairs: a record's arrival or departure changes the pairs of the others). Every stored pair
    of those records or of a record gone is deleted from {{ this }} first (in the model's
    transaction); a full run deletes every stored pair. -#}
{% macro identity_match_scope(records, config) -%}
    {%- set now = identity_scratch('records_now') -%}
    {%- set keys_now = identity_scratch('keys_now') -%}
    {%- set input_now = identity_scratch('input_now') -%}
    {%- set input_changed = identity_scratch('input_changed') -%}
    {%- set kept = identity_scratch('records') -%}
    {%- set kept_keys = identity_scratch('keys') -%}
    {%- set kept_input = identity_scratch('input') -%}
    {%- set changed = identity_scratch('changed') -%}
    {%- set compared = identity_scratch('compared') -%}
    {%- set needed = identity_scratch('needed') -%}
    {%- set columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(records) -%}
        {%- do columns.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- call statements('identity_match_now') -%}
        {%- for scratch in [now, keys_now, input_now, input_changed, changed, compared, needed] %}
        drop table if exists {{ scratch }};
        {%- endfor %}
        create table {{ now }} as
        select
            cast(record_id as {{ sql_type('varchar') }}) as record_id,
            {{ identity_row_hash(columns) }} as record_hash
        from {{ records }};
    {%- endcall -%}
    {%- set tf_adjusted = config['comparisons'] | selectattr('tf_adjust') | list | length > 0 -%}
    {#- decided once per run (kept_state_decide): the post_hook keeps the fingerprint decided with -#}
    {%- set incremental_run = kept_state_decide(identity_match_fingerprint, ['records', 'keys', 'input'],
        usable=not tf_adjusted) -%}
    {%- if not incremental_run -%}
        {%- call statements('identity_match_all_keys') -%}
            create table {{ input_now }} as
            {{ configured_match_standardised(records, config) }};
            create table {{ keys_now }} as
            select cm_id, cm_source, rule_rank, {{ dbt.hash('block_key') }} as block_key
            from ({{ configured_match_keys(none, config, standardised=input_now) }}) as record_keys;
            {% if is_incremental() %}delete from {{ this }};{% endif %}
        {%- endcall -%}
        {{ log('int_identity_match_evidence: every pair compared' ~ (' (tf_adjust)' if tf_adjusted else ''), info=true) }}
        {{- return({'keys': keys_now, 'compared': none, 'standardised': input_now}) -}}
    {%- endif -%}
    {%- set max_block_size = config.get('max_block_size', 50) -%}
    {%- call statements('identity_match_compared') -%}
        create table {{ changed }} as
        select *
        from {{ records }}
        where cast(record_id as {{ sql_type('varchar') }}) in (
            select record_id from (
                select record_id, record_hash from {{ now }}
                except
                select record_id, record_hash from {{ kept }}
            ) as new_or_changed
            union
            -- a record whose kept standardised row is missing (an erasure deletes rows by value)
            select record_id from {{ now }}
            where record_id not in (select cm_id from {{ kept_input }})
        );
        create table {{ input_changed }} as
        {{ configured_match_standardised(changed, config) }};
        create table {{ input_now }} as
        select * from {{ kept_input }}
        where cm_id in (select record_id from {{ now }})
            and cm_id not in (select cm_id from {{ input_changed }})
        union all
        select * from {{ input_changed }};
        create table {{ keys_now }} as
        select kept_keys.cm_id, kept_keys.cm_source, kept_keys.rule_rank, kept_keys.block_key
        from {{ kept_keys }} as kept_keys
        where kept_keys.cm_id in (select record_id from {{ now }})
            and kept_keys.cm_id not in (select cm_id from {{ input_changed }})
        union all
        select cm_id, cm_source, rule_rank, {{ dbt.hash('block_key') }}
        from ({{ configured_match_keys(none, config, standardised=input_changed) }}) as changed_keys;
        create table {{ compared }} as
        with
        new_sizes as (
            select rule_rank, block_key, count(*) as block_size
            from {{ keys_now }}
            group by 1, 2
        ),
        old_sizes as (
            select rule_rank, block_key, count(*) as block_size
            from {{ kept_keys }}
            group by 1, 2
        ),
        crossed as (
            select coalesce(new_sizes.rule_rank, old_sizes.rule_rank) as rule_rank,
                coalesce(new_sizes.block_key, old_sizes.block_key) as block_key
            from new_sizes
            full outer join old_sizes
                on old_sizes.rule_rank = new_sizes.rule_rank
                and old_sizes.block_key = new_sizes.block_key
            where (coalesce(new_sizes.block_size, 0) <= {{ max_block_size }})
                <> (coalesce(old_sizes.block_size, 0) <= {{ max_block_size }})
        )
        select cm_id as record_id from {{ input_changed }}
        union
        select keys_now.cm_id
        from {{ keys_now }} as keys_now
        inner join crossed
            on crossed.rule_rank = keys_now.rule_rank
            and crossed.block_key = keys_now.block_key;
        delete from {{ this }}
        where record_id_l in (select record_id from {{ compared }})
            or record_id_r in (select record_id from {{ compared }})
            or record_id_l not in (select record_id from {{ now }})
            or record_id_r not in (select record_id from {{ now }});
        create table {{ needed }} as
        select *
        from {{ input_now }}
        where cm_id in (
            select record_id from {{ compared }}
            union
            select partner.cm_id
            from {{ keys_now }} as own
            inner join (
                select rule_rank, block_key
                from {{ keys_now }}
                group by rule_rank, block_key
                having count(*) <= {{ max_block_size }}
            ) as eligible
                on eligible.rule_rank = own.rule_rank
                and eligible.block_key = own.block_key
            inner join {{ keys_now }} as partner
                on partner.rule_rank = own.rule_rank
                and partner.block_key = own.block_key
            where own.cm_id in (select record_id from {{ compared }})
        );
    {%- endcall -%}
    {%- set counts = run_query('select (select count(*) from ' ~ input_changed ~ '), (select count(*) from ' ~ compared
        ~ '), (select count(*) from ' ~ needed ~ '), (select count(*) from ' ~ now ~ ')').rows[0] -%}
    {{ log('int_identity_match_evidence: ' ~ counts[0] ~ ' records new or changed (standardised), ' ~ counts[1]
        ~ ' records compared again (' ~ counts[2] ~ ' read) of ' ~ counts[3], info=true) }}
    {{- return({'keys': keys_now, 'compared': compared, 'standardised': needed}) -}}
{%- endmacro %}

{#- A fingerprint of what a stored pair's evidence depends on besides its two records: the matcher's
    configuration (`config`, default identity_match_config()) and the contents of its seeds (m/u,
    pinyin, free mail domains, blocklist). -#}
{% macro identity_match_fingerprint(config=none) -%}
    {%- set config = config if config is not none else identity_match_config() -%}
    {%- set seeds = ['identity_match_pinyin', 'identity_blocklist'] -%}
    {%- if config.get('parameters_seed') -%}{%- do seeds.append(config['parameters_seed']) -%}{%- endif -%}
    {%- for comparison in config['comparisons'] if comparison.get('free_domains_seed') -%}
        {%- do seeds.append(comparison['free_domains_seed']) -%}
    {%- endfor -%}
    {{- return(config_fingerprint(config, seeds)) -}}
{%- endmacro %}

{#- A fingerprint of a model's settings: md5 of `config` (vars, a mapping: as JSON) and of the contents
    of the `seeds` it reads (each seed's rows as text, sorted, hashed). A model that keeps rows from run
    to run stores it and rebuilds everything when it differs (int_identity_match_evidence, and the
    incremental events and journeys: docs/incremental.md). Empty while dbt parses. -#}
{% macro config_fingerprint(config, seeds) -%}
    {%- if not execute -%}{{- return('') -}}{%- endif -%}
    {%- set parts = [] -%}
    {%- for seed in seeds | unique | sort -%}
        {%- set digest = run_query(
            'select ' ~ dbt.hash(dbt.listagg(row_as_text('seed_rows'), "'|'", 'order by ' ~ row_as_text('seed_rows')))
            ~ ' from ' ~ ref(seed) ~ ' as seed_rows'
        ).columns[0].values()[0] -%}
        {%- do parts.append(seed ~ '=' ~ digest) -%}
    {%- endfor -%}
    {{- return(local_md5(tojson(config) ~ '|' ~ parts | join('|'))) -}}
{%- endmacro %}

{#- Post-hook of int_identity_match_evidence: keep this run's record hashes, blocking keys (hashed:
    the kept table holds no name or address) and the fingerprint identity_match_scope decided with
    (keep_decided_fingerprint) for the next run; drop the scratch. -#}
{% macro identity_match_kept_state() -%}
    {%- set decided = kept_state_decided() -%}
    {%- set sql -%}
    drop table if exists {{ identity_scratch('records') }};
    create table {{ identity_scratch('records') }} as select * from {{ identity_scratch('records_now') }};
    drop table if exists {{ identity_scratch('keys') }};
    create table {{ identity_scratch('keys') }} as select * from {{ identity_scratch('keys_now') }};
    drop table if exists {{ identity_scratch('input') }};
    create table {{ identity_scratch('input') }} as select * from {{ identity_scratch('input_now') }};
    {{ keep_decided_fingerprint(decided, identity_match_fingerprint) }};
    {# this step's own scratch tables dropped by name: the other hooks' drop lists name other tables #}
    drop table if exists {{ identity_scratch('records_now') }};
    drop table if exists {{ identity_scratch('keys_now') }};
    drop table if exists {{ identity_scratch('input_now') }};
    drop table if exists {{ identity_scratch('input_changed') }};
    drop table if exists {{ identity_scratch('changed') }};
    drop table if exists {{ identity_scratch('compared') }};
    drop table if exists {{ identity_scratch('needed') }}
    {%- endset -%}
    {{- hook_statements(sql) -}}
{%- endmacro %}

{#- A hash of `columns` (SQL expressions) as one text, nulls kept apart from every value: what the
    incremental identity models compare to find a record that changed. -#}
{% macro identity_row_hash(columns) -%}
    {%- set fields = [] -%}
    {%- for column in columns -%}
        {%- do fields.append("coalesce(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ "), '~')") -%}
    {%- endfor -%}
    {{- dbt.hash(fields | join(" || '|' || ")) -}}
{%- endmacro %}

{#- What a daily run of an identity model incremental per record (int_identity_record_identifiers)
    recomputes. `rows` is the model's input as a query: every row it would compute from, cheap to list
    (no blocklist, no matcher), with the record's `keys` and `row_hash` (identity_row_hash of all that
    the row's output depends on); {{ this }} stores each output row's row_hash. Creates `<this>__rows_now`
    (the rows) and `<this>__changed` (the keys of the records with a row_hash now that is not stored,
    or stored and not now: a new, changed or gone record; counted with their copies, unless
    `with_copies` is false: a model with several output rows per input row), deletes the
    stored rows of those records in the model's transaction, and returns {'rows': <rows_now>,
    'changed': <changed>}. When the run before kept no fingerprint, a stored table lacks row_hash, or the
    fingerprint differs (identity_match_fingerprint: the matcher's configuration and seeds, the
    blocklist among them), every stored row is deleted and 'changed' is none: every record is computed. -#}
{% macro identity_records_scope(rows, keys, with_copies=true) -%}
    {%- set now = identity_scratch('rows_now') -%}
    {%- set changed = identity_scratch('changed') -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set key_text = [] -%}
    {%- for key in keys -%}
        {%- do key_text.append("coalesce(cast(" ~ key ~ " as " ~ sql_type('varchar') ~ "), '~')") -%}
    {%- endfor -%}
    {%- set key_text = key_text | join(" || '|' || ") -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {#- decided once per run (kept_state_decide): the post_hook keeps the fingerprint decided with -#}
    {%- set state = namespace(incremental=kept_state_decide(identity_match_fingerprint, [],
        usable='row_hash' in stored)) -%}
    {%- call statement('identity_records_now') -%}
        drop table if exists {{ now }};
        drop table if exists {{ changed }};
        create table {{ now }} as
        select * from ({{ rows }}) as identity_rows;
        {% if state.incremental -%}
        create table {{ changed }} as
        select distinct {{ key_list }}
        from (
            (select {{ key_list }}, row_hash from {{ now }}
             except{{ ' all' if with_copies }}
             select {{ key_list }}, row_hash from {{ this }})
            union all
            (select {{ key_list }}, row_hash from {{ this }}
             except{{ ' all' if with_copies }}
             select {{ key_list }}, row_hash from {{ now }})
        ) as differing;
        delete from {{ this }}
        where {{ key_text }} in (select {{ key_text }} from {{ changed }});
        {%- else -%}
        delete from {{ this }};
        {%- endif %}
    {%- endcall -%}
    {%- if not state.incremental -%}
        {{ log(this.identifier ~ ': every record computed', info=true) }}
        {{- return({'rows': now, 'changed': none}) -}}
    {%- endif -%}
    {%- set listed = '(select distinct ' ~ key_list ~ ' from ' ~ now ~ ') as listed' -%}
    {%- set counts = run_query('select (select count(*) from ' ~ changed ~ ' where ' ~ key_text ~ ' in (select ' ~ key_text
        ~ ' from ' ~ listed ~ ')), (select count(*) from ' ~ changed ~ '), (select count(*) from ' ~ listed ~ ')').rows[0] -%}
    {{ log(this.identifier ~ ': ' ~ counts[0] ~ ' records new or changed, ' ~ (counts[1] - counts[0]) ~ ' gone, of '
        ~ counts[2], info=true) }}
    {{- return({'rows': now, 'changed': changed}) -}}
{%- endmacro %}

{#- The rows of `rows` (identity_records_scope's) of the records in `changed`, as a select; every row
    when `changed` is none. -#}
{% macro identity_rows_of_changed_records(rows, changed, keys) -%}
    select identity_rows.*
    from {{ rows }} as identity_rows
    {%- if changed is not none %}
    inner join {{ changed }} as changed_records
        on {% for key in keys %}changed_records.{{ key }} is not distinct from identity_rows.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of a model incremental per record (identity_records_scope): keep the fingerprint its
    rows were computed under (the one identity_records_scope decided with, keep_decided_fingerprint),
    drop the scratch. Nothing where the model is a table (Spark). -#}
{% macro identity_records_kept_state() -%}
    {%- if incremental_or_table() == 'incremental' -%}
    {{ keep_decided_fingerprint(kept_state_decided(), identity_match_fingerprint) }};
    drop table if exists {{ identity_scratch('rows_now') }};
    drop table if exists {{ identity_scratch('changed') }}
    {%- endif -%}
{%- endmacro %}
