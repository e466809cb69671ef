{#- Connected components of an undirected graph, in portable SQL (DuckDB and Postgres), converging
    in about log(diameter) rounds instead of "run it six times".

    Shiloach-Vishkin style hooking with pointer jumping over integer node ids:
      parent(v) starts as the smallest of v and its neighbours;
      each round (1) hooks every root to the smallest parent seen across the edges of its tree,
      then (2) jumps pointers twice, parent(v) <- parent(parent(v)), halving every path each time;
      it stops when every edge has both ends under the same parent and every parent is a root.
    Labels only ever decrease and a component's smallest node never gets a smaller parent, so the
    fixed point labels every node with the smallest node of its component. A guard stops with an
    error after `max_rounds` (var identity_cc_max_rounds) instead of returning half-merged people.

    `edges` is a relation with columns node_a, node_b (varchar keys; self edges keep lonely nodes).
    The macro materialises scratch tables named after the relation `scratch` while it iterates (it
    must run at execution time, e.g. from a model body under `if execute`) and returns the relation
    holding (node_key, component_key, cc_rounds). -#}
{% macro connected_components(edges, scratch) %}
    {# its own scratch relations named from `scratch` and filled in steps: alike in shape only to the other graph step's head #}
    {%- set max_rounds = var('identity_cc_max_rounds', 40) | int -%}
    {%- set nodes = scratch.incorporate(path={'identifier': scratch.identifier ~ '__cc_nodes'}) -%}
    {%- set arcs = scratch.incorporate(path={'identifier': scratch.identifier ~ '__cc_arcs'}) -%}
    {%- set parents = scratch.incorporate(path={'identifier': scratch.identifier ~ '__cc_parents'}) -%}
    {%- set next_parents = scratch.incorporate(path={'identifier': scratch.identifier ~ '__cc_next'}) -%}
    {%- set result = scratch.incorporate(path={'identifier': scratch.identifier ~ '__cc_result'}) -%}

    {%- call statements('cc_setup') -%}
        drop table if exists {{ nodes }};
        drop table if exists {{ arcs }};
        drop table if exists {{ parents }};
        drop table if exists {{ result }};
        create table {{ nodes }} as
        select
            node_key,
            row_number() over (order by node_key) as node_id
        from (
            select node_a as node_key from {{ edges }}
            union
            select node_b from {{ edges }}
        ) as keys;
        create table {{ arcs }} as
        select distinct a.node_id as src, b.node_id as dst
        from {{ edges }} as e
        inner join {{ nodes }} as a on a.node_key = e.node_a
        inner join {{ nodes }} as b on b.node_key = e.node_b
        where a.node_id <> b.node_id;
        insert into {{ arcs }} select dst, src from {{ arcs }};
        create table {{ parents }} as
        select
            nodes.node_id,
            least(nodes.node_id, coalesce(min(arcs.dst), nodes.node_id)) as parent
        from {{ nodes }} as nodes
        left join {{ arcs }} as arcs on arcs.src = nodes.node_id
        group by nodes.node_id;
    {%- endcall -%}

    {%- set ns = namespace(rounds=0, converged=false) -%}
    {%- for round in range(max_rounds) if not ns.converged -%}
        {%- set ns.rounds = round + 1 -%}
        {%- call statements('cc_round') -%}
            drop table if exists {{ next_parents }};
            create table {{ next_parents }} as
            with hooks as (
                -- the smallest parent across any edge leaving the tree of root r
                select
                    pa.parent as root,
                    min(pb.parent) as new_parent
                from {{ arcs }} as arcs
                inner join {{ parents }} as pa on pa.node_id = arcs.src
                inner join {{ parents }} as pb on pb.node_id = arcs.dst
                where pb.parent < pa.parent
                group by pa.parent
            ),
            hooked as (
                select
                    p.node_id,
                    case
                        when hooks.new_parent is not null and p.node_id = p.parent then least(p.parent, hooks.new_parent)
                        else p.parent
                    end as parent
                from {{ parents }} as p
                left join hooks on hooks.root = p.node_id
            ),
            jumped as (
                select h.node_id, g.parent
                from hooked as h
                inner join hooked as g on g.node_id = h.parent
            )
            select j.node_id, k.parent
            from jumped as j
            inner join jumped as k on k.node_id = j.parent;
        {%- endcall -%}
        {%- set check -%}
            select
                (select count(*) from {{ next_parents }} as n inner join {{ parents }} as p using (node_id) where n.parent <> p.parent)
                + (
                    select count(*)
                    from {{ arcs }} as arcs
                    inner join {{ next_parents }} as pa on pa.node_id = arcs.src
                    inner join {{ next_parents }} as pb on pb.node_id = arcs.dst
                    where pa.parent <> pb.parent
                )
                + (
                    select count(*)
                    from {{ next_parents }} as n
                    inner join {{ next_parents }} as up on up.node_id = n.parent
                    where up.parent <> n.parent
                ) as pending
        {%- endset -%}
        {%- set pending = run_query(check).columns[0].values()[0] -%}
        {%- call statements('cc_swap') -%}
            drop table {{ parents }};
            alter table {{ next_parents }} rename to {{ parents.identifier }};
        {%- endcall -%}
        {%- if pending == 0 -%}
            {%- set ns.converged = true -%}
        {%- endif -%}
    {%- endfor -%}

    {%- if not ns.converged -%}
        {{ exceptions.raise_compiler_error(
            "connected_components did not converge in " ~ max_rounds ~ " rounds (var identity_cc_max_rounds); "
            ~ "the identity graph may contain a chain longer than 2^" ~ max_rounds ~ " nodes"
        ) }}
    {%- endif -%}
    {{ log("connected_components: converged in " ~ ns.rounds ~ " rounds", info=true) }}

    {%- call statements('cc_result') -%}
        create table {{ result }} as
        select
            nodes.node_key,
            roots.node_key as component_key,
            {{ ns.rounds }} as cc_rounds
        from {{ parents }} as p
        inner join {{ nodes }} as nodes on nodes.node_id = p.node_id
        inner join {{ nodes }} as roots on roots.node_id = p.parent;
        drop table {{ arcs }};
        drop table {{ parents }};
        drop table {{ nodes }};
    {%- endcall -%}
    {{ return(result) }}
{% endmacro %}

{#- `dbt run-operation connected_components_table --args '{edges: bench.edges, target_table: bench.components}'`:
    the same clustering on any edge table (benchmarks, ad-hoc checks). -#}
{% macro connected_components_table(edges, target_table) %}
    {%- set schema_name, identifier = target_table.split('.') -%}
    {%- set target_relation = api.Relation.create(database=target.database, schema=schema_name, identifier=identifier, type='table') -%}
    {%- set result = connected_components(edges, target_relation) -%}
    {%- call statements('cc_publish') -%}
        drop table if exists {{ target_relation }};
        alter table {{ result }} rename to {{ identifier }};
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ log("connected_components_table: wrote " ~ target_table, info=true) }}
{% endmacro %}
