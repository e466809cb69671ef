{#- Stable person ids: node -> person_id, kept from run to run (incremental; a full refresh does not
    reset it). Each run starts from what the previous run assigned ({{ this }}):
      * every previous id goes home to the current component holding most of its nodes (a split:
        the larger part keeps the id; ties go to the smaller component key);
      * a component takes the oldest of the ids that came home to it (a merge: the survivor is the
        oldest id, the others are retired in int_identity_id_changes);
      * a component no previous id came home to is new: md5 of its smallest node (first run) or of
        that node and the interval (later runs, so a retired id is never handed out again).
    A component whose nodes did not change keeps its id: the rules above are a fixed point, so
    re-running an interval changes nothing. Nodes that disappear (cut by a guard added later) keep
    their last row, so their id comes back if they do. -#}
{#- meta date_stamps_changes_only: the run's day only dates a new id or a change; on unchanged
    components every id stays (a fixed point) (day_skip: a day whose inputs did not change may leave it
    out; docs/incremental.md) -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='node_key',
    incremental_strategy='delete+insert',
    full_refresh=false,
    meta={'date_stamps_changes_only': true},
) }}

with

components as (
    select * from {{ ref('int_identity_components') }}
),

{%- set interval_date = interval_day() %}

{% if is_incremental() %}
previous as (
    select node_key, person_id, person_since, previous_person_id, changed_on from {{ this }}
),
{% else %}
-- the relation's column types, one cast a column: alike in shape only to other typed selects, other columns
previous as (
    select
        cast(null as {{ sql_type('varchar') }}) as node_key,
        cast(null as {{ sql_type('varchar') }}) as person_id,
        cast(null as date) as person_since,
        cast(null as {{ sql_type('varchar') }}) as previous_person_id,
        cast(null as date) as changed_on
    where false
),
{% endif %}

id_ages as (
    select
        person_id,
        min(person_since) as person_since
    from previous
    group by person_id
),

id_overlaps as (
    select
        previous.person_id,
        components.component_key,
        count(*) as shared_nodes
    from components
    inner join previous
        on previous.node_key = components.node_key
    group by previous.person_id, components.component_key
),

homes as (
    -- each previous id goes to the component holding most of its nodes
    select
        id_overlaps.person_id,
        id_overlaps.component_key,
        id_ages.person_since,
        row_number() over (
            partition by id_overlaps.person_id
            order by id_overlaps.shared_nodes desc, id_overlaps.component_key
        ) as home_rank
    from id_overlaps
    inner join id_ages
        on id_ages.person_id = id_overlaps.person_id
),

survivors as (
    -- each component keeps the oldest id that came home to it
    select
        component_key,
        person_id,
        person_since,
        row_number() over (partition by component_key order by person_since, person_id) as survivor_rank
    from homes
    where home_rank = 1
),

assigned as (
    select
        components.component_key,
        coalesce(
            survivors.person_id,
            {%- if is_incremental() %}
            {{ dbt.hash("components.component_key || '@' || '" ~ (interval_bound('interval_start') or 'unversioned') ~ "'") }}
            {%- else %}
            {{ dbt.hash('components.component_key') }}
            {%- endif %}
        ) as person_id,
        coalesce(survivors.person_since, {{ interval_date }}) as person_since
    from (select distinct component_key from components) as components
    left join survivors
        on survivors.component_key = components.component_key
        and survivors.survivor_rank = 1
),

final as (
    select
        components.node_key,
        cast(assigned.person_id as {{ sql_type('varchar') }}) as person_id,
        cast(assigned.person_since as date) as person_since,
        components.component_key,
        -- the id this node had before its last change, and when that was (a re-run keeps both)
        cast(
            case
                when previous.person_id = assigned.person_id then previous.previous_person_id
                else previous.person_id
            end as {{ sql_type('varchar') }}) as previous_person_id,
        case
            when previous.person_id is null then cast(null as date)
            when previous.person_id = assigned.person_id then previous.changed_on
            else {{ interval_date }}
        end as changed_on
    -- this model's own joins (on component_key, node_key): a join chain alike in shape only to other models', other relations
    from components
    inner join assigned
        on assigned.component_key = components.component_key
    left join previous
        on previous.node_key = components.node_key
)

select * from final
