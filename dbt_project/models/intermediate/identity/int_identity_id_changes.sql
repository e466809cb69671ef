{#- Every change of person id, as it happened (incremental, never rebuilt): on changed_on the nodes
    of from_person_id moved to to_person_id. reason merged: from_person_id is retired, its person
    now lives on as to_person_id (the oldest id of the merged people); split: a guard or new data
    cut the person in two, from_person_id stayed with the larger part and the smaller part became
    to_person_id. CRM pushes key on person ids: this table is how they follow a merge.
    decision_id, decided_by, decision_reason: the data steward's decision (seed identity_decisions)
    that made the change, when one did (a must_link whose two identifiers had two ids before and
    share this one now; a cannot_link whose two identifiers had this one id and now have two; a
    detach that moved its identifier away from the rest of its person); null otherwise. -#}
{#- meta date_stamps_changes_only: the run's day only dates the changes of person_ids made on it: none
    when its inputs did not change (day_skip: a day whose inputs did not change may leave it out;
    docs/incremental.md) -#}
{{ config(
    materialized=incremental_or_table(),
    on_schema_change='append_new_columns',
    unique_key=['changed_on', 'from_person_id', 'to_person_id'],
    incremental_strategy='delete+insert',
    full_refresh=false,
    meta={'date_stamps_changes_only': true},
) }}

with

person_ids as (
    select * from {{ ref('int_identity_person_ids') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

current_ids as (
    select distinct person_ids.person_id
    from person_ids
    inner join components
        on components.node_key = person_ids.node_key
),

moves as (
    select
        changed_on,
        previous_person_id as from_person_id,
        person_id as to_person_id,
        count(*) as node_count
    from person_ids
    where previous_person_id is not null
        and previous_person_id <> person_id
        {% if is_incremental() -%}
        -- earlier changes are history: their rows stay as they were written
        and changed_on = {{ interval_day() }}
        {%- endif %}
    group by changed_on, previous_person_id, person_id
),

-- decisions: which change each steward's decision made (ids before and after this interval)
decisions as (
    select * from {{ ref('int_identity_decisions') }}
),

node_ids as (
    select
        node_key,
        person_id as new_id,
        case
            when changed_on = {{ interval_day() }}
                and previous_person_id is not null
                then previous_person_id
            else person_id
        end as old_id
    from person_ids
),

decision_moves as (
    -- both sides of a must_link that had two ids and now share one, or of a cannot_link that had
    -- one id and now has two
    select decisions.decision_id, decisions.decided_by, decisions.decision_reason, side.old_id as from_id, side.new_id as to_id
    from decisions
    inner join node_ids as id_a on id_a.node_key = decisions.node_a
    inner join node_ids as id_b on id_b.node_key = decisions.node_b
    cross join (select 'a' as side_name union all select 'b') as sides
    inner join node_ids as side
        on side.node_key = case when sides.side_name = 'a' then decisions.node_a else decisions.node_b end
    where (
            decisions.decision_kind = 'must_link'
            and id_a.old_id <> id_b.old_id
            and id_a.new_id = id_b.new_id
        )
        or (
            decisions.decision_kind = 'cannot_link'
            and id_a.old_id = id_b.old_id
            and id_a.new_id <> id_b.new_id
        )

    union all

    -- detach: the identifier left its person (to_id null: it kept the id and the rest moved)
    select
        decisions.decision_id, decisions.decided_by, decisions.decision_reason, detached.old_id,
        case when detached.new_id <> detached.old_id then detached.new_id end
    from decisions
    inner join node_ids as detached on detached.node_key = decisions.node_a
    where decisions.decision_kind = 'detach'
),

changes as (
    select
        moves.changed_on,
        moves.from_person_id,
        moves.to_person_id,
        case when current_ids.person_id is null then 'merged' else 'split' end as reason,
        cast(moves.node_count as integer) as node_count
    from moves
    left join current_ids
        on current_ids.person_id = moves.from_person_id
),

decided_changes as (
    select
        changes.changed_on,
        changes.from_person_id,
        changes.to_person_id,
        decision_moves.decision_id,
        decision_moves.decided_by,
        decision_moves.decision_reason,
        row_number() over (
            partition by changes.changed_on, changes.from_person_id, changes.to_person_id
            order by decision_moves.decision_id
        ) as decision_rank
    from changes
    inner join decision_moves
        on decision_moves.from_id = changes.from_person_id
        and (decision_moves.to_id = changes.to_person_id or decision_moves.to_id is null)
),

final as (
    select
        changes.*,
        cast(decided_changes.decision_id as {{ sql_type('varchar') }}) as decision_id,
        cast(decided_changes.decided_by as {{ sql_type('varchar') }}) as decided_by,
        cast(decided_changes.decision_reason as {{ sql_type('varchar') }}) as decision_reason
    -- this model's own joins (on changed_on): a join chain alike in shape only to other models', other relations
    from changes
    left join decided_changes
        on decided_changes.changed_on = changes.changed_on
        and decided_changes.from_person_id = changes.from_person_id
        and decided_changes.to_person_id = changes.to_person_id
        and decided_changes.decision_rank = 1
)

select * from final
