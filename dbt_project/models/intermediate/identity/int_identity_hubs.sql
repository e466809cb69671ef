{#- Hub identifiers: values that would glue strangers together because many people share them (a
    kiosk browser at a trade show, a team mailbox, a switchboard phone). An identifier of type T is
    a hub when the records holding it hold more than max_distinct distinct identifiers of the
    counted type (seed identity_limits). Co-occurrence is counted per record, so it does not depend
    on how the graph happens to be connected, and a hub is always the less trusted side of the
    links it would make: a device shared by 12 emails is cut, the 12 emails stay.
    Small hubs hide under any count (a phone recycled from one owner to the next, a laptop shared by
    a couple): an identifier is also a hub when its records carry more than max_name_conflicts
    names that conflict with its most frequent name: in characters, any other name; in letters, other
    words beyond those both share that start with another letter (macro latin_names_conflict); in
    two scripts (田艳, Mark Zhang), only when the companies differ too (李娜 and Li Na at one company
    are one person's names). -#}
with

record_identifiers as (
    select * from {{ ref('int_identity_record_identifiers') }}
    where blocked_reason is null
),

limits as (
    select * from {{ ref('identity_limits') }}
    where counted_type is not null
),

name_limits as (
    select * from {{ ref('identity_limits') }}
    where max_name_conflicts is not null
),

record_names as (
    select 'forms' as record_source, submission_key as record_key, full_name, lower(trim(company)) as company
    from {{ ref('stg_forms__submissions') }}
    where full_name is not null
    union all
    select 'crm_leads', lead_id, full_name, lower(trim(company))
    from {{ ref('stg_crm__leads') }}
    where full_name is not null
),

names_used as (
    select
        held.node_key,
        held.identifier_type,
        {{ name_key('record_names.full_name') }} as name_key,
        {{ is_cjk_name('record_names.full_name') }} as is_cjk,
        min(record_names.full_name) as full_name,
        min(record_names.company) as company,
        count(*) as records
    from record_identifiers as held
    inner join name_limits
        on name_limits.identifier_type = held.identifier_type
    inner join record_names
        on record_names.record_source = held.record_source
        and record_names.record_key = held.record_key
    group by 1, 2, 3, 4
),

main_names as (
    select
        names_used.*,
        row_number() over (partition by node_key order by records desc, name_key) as name_rank
    from names_used
),

name_conflicts as (
    select
        main.node_key,
        main.identifier_type,
        'name' as counted_type,
        count(*) as distinct_count,
        min(main.full_name) as main_name,
        min(other.full_name) as other_name
    from main_names as main
    inner join main_names as other
        on other.node_key = main.node_key
        and other.name_rank > 1
        and (
            -- same script: the names themselves disagree. In characters any other name is another
            -- person (王伟 / 王芳: a family on one home computer; a similarity on UTF-8 bytes rates
            -- 刘思远 / 刘洋 0.82); in letters, after the words both share (a family's surname, a name
            -- turned round), the other words start with other letters (David / Rachel Brown; Mike /
            -- Michael or a typo start alike)
            (
                other.is_cjk and main.is_cjk
                and replace(main.full_name, ' ', '') <> replace(other.full_name, ' ', '')
            )
            or (not other.is_cjk and not main.is_cjk and {{ latin_names_conflict('main.full_name', 'other.full_name') }})
            -- 田艳 and Mark Zhang cannot be compared; at two different companies they are two people
            or (
                other.is_cjk <> main.is_cjk
                and {{ string_similarity('main.company', 'other.company') }} < 0.8
            )
        )
    where main.name_rank = 1
    group by main.node_key, main.identifier_type
),

name_hubs as (
    select
        name_conflicts.node_key,
        name_conflicts.identifier_type,
        name_conflicts.counted_type,
        cast(name_conflicts.distinct_count as integer) as distinct_count,
        name_limits.max_name_conflicts as max_distinct,
        'conflict: records name ' || name_conflicts.main_name || ' and ' || cast(name_conflicts.distinct_count as {{ sql_type('varchar') }})
        || ' other name(s) such as ' || name_conflicts.other_name
        || ' (limit ' || cast(name_limits.max_name_conflicts as {{ sql_type('varchar') }}) || ')' as reason
    from name_conflicts
    inner join name_limits
        on name_limits.identifier_type = name_conflicts.identifier_type
    where name_conflicts.distinct_count > name_limits.max_name_conflicts
),

cooccurrence as (
    select
        held.node_key,
        held.identifier_type,
        other.identifier_type as counted_type,
        count(distinct other.node_key) as distinct_count
    from record_identifiers as held
    inner join limits
        on limits.identifier_type = held.identifier_type
    inner join record_identifiers as other
        on other.record_source = held.record_source
        and other.record_key = held.record_key
        and other.identifier_type = limits.counted_type
        and other.node_key <> held.node_key
    -- a team mailbox does not make the browsers it was typed on kiosks: it is not counted
    where other.node_key not in (select node_key from name_hubs)
    group by held.node_key, held.identifier_type, other.identifier_type
),

count_hubs as (
    select
        cooccurrence.node_key,
        cooccurrence.identifier_type,
        cooccurrence.counted_type,
        cast(cooccurrence.distinct_count as integer) as distinct_count,
        limits.max_distinct,
        'hub: seen with ' || cast(cooccurrence.distinct_count as {{ sql_type('varchar') }}) || ' distinct '
        || cooccurrence.counted_type || ' identifiers (limit ' || cast(limits.max_distinct as {{ sql_type('varchar') }}) || ')' as reason
    from cooccurrence
    inner join limits
        on limits.identifier_type = cooccurrence.identifier_type
        and limits.counted_type = cooccurrence.counted_type
    where cooccurrence.distinct_count > limits.max_distinct
),

final as (
    select * from count_hubs
    union all
    select * from name_hubs
)

select * from final
