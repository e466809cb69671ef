{#- Identity health per day, for the operations dashboard (no personal data): how many people the
    identity graph resolves to, how many person ids a merge retired and how many a split created
    that day (int_identity_id_changes), how many of those a data steward's decision made, and how
    many (record, identifier) links the guards cut (int_identity_links_cut, by kind in
    identity_cut_links). One row per day: the run's interval day (interval_start, the day
    int_identity_id_changes writes as changed_on; 1970-01-01 for a hand run without an interval).
    Incremental, delete+insert on day: a re-run of a day replaces its row, never duplicates it;
    full_refresh is off so a full refresh cannot wipe the history (people of past days are only
    known from the run of that day). The first build also writes the earlier days of
    int_identity_id_changes, with people and cut links null (not recorded then). -#}
{{ kept_history_config(unique_key='day') }}

{%- set run_day = interval_day() %}

with
-- imports: one CTE per relation this model reads (the style guide's shape), no logic to share

people as (
    select * from {{ ref('people') }}
),

id_changes as (
    select * from {{ ref('int_identity_id_changes') }}
),

links_cut as (
    select * from {{ ref('int_identity_links_cut') }}
),

changes_per_day as (
    select
        changed_on as day,
        -- a merge retires from_person_id (its nodes now live on as the oldest id of the group)
        count(distinct case when reason = 'merged' then from_person_id end) as merges,
        -- a split gives the smaller part a new id: one row per part split off
        count(case when reason = 'split' then 1 end) as splits,
        count(case when decision_id is not null then 1 end) as steward_changes
    from id_changes
    group by changed_on
),

today as (
    select
        {{ run_day }} as day,
        (select count(*) from people) as people,
        (select count(*) from people where person_since = {{ run_day }}) as new_person_ids,
        (select count(*) from people where has_probabilistic_link) as people_with_probabilistic_link,
        (select count(*) from links_cut) as links_cut
),

days as (
    select day from today
    {%- if not is_incremental() %}
    union
    select day from changes_per_day where day < {{ run_day }}
    {%- endif %}
),

final as (
    select
        cast(days.day as date) as day,
        cast(today.people as bigint) as people,
        cast(today.new_person_ids as bigint) as new_person_ids,
        cast(coalesce(changes_per_day.merges, 0) as bigint) as merges,
        cast(coalesce(changes_per_day.splits, 0) as bigint) as splits,
        cast(coalesce(changes_per_day.steward_changes, 0) as bigint) as steward_changes,
        cast(today.people_with_probabilistic_link as bigint) as people_with_probabilistic_link,
        cast(today.links_cut as bigint) as links_cut
    -- this model's own joins (on day): a join chain alike in shape only to other models', other relations
    from days
    left join today
        on today.day = days.day
    left join changes_per_day
        on changes_per_day.day = days.day
)

select * from final
