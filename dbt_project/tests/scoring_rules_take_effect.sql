{#- The scoring rules' table as marketing edited it: every row returned is a rule whose points cannot
    take effect as written. Severity warn: the build goes on, and its log names the rule and why.
    The full check (rules that never fire, overlaps, the effect on the warehouse) is
    `python -m intent_pipeline rules check` (plugins/intent_pipeline/rules_check.py, docs/scoring.md). -#}
{{ config(severity='warn') }}

with

rules as (
    select * from {{ ref('scoring_rules') }}
),

form_types as (
    select distinct form_type from {{ ref('form_types') }}
),

keyword_groups as (
    select distinct keyword_group from {{ ref('title_keywords') }}
),

problems as (
    select
        rule_id,
        'points ' || cast(points as varchar) || ' above max_points_per_day '
        || cast(max_points_per_day as varchar) || ': points beyond the cap change no score' as problem
    from rules
    where points <> 0 and max_points_per_day is not null and abs(max_points_per_day) < abs(points)
    union all
    select
        rule_id,
        'points ' || cast(points as varchar) || ' above max_points ' || cast(max_points as varchar)
        || ': points beyond the cap change no score' as problem
    from rules
    where points <> 0 and max_points is not null and abs(max_points) < abs(points)
    union all
    select
        rule_id,
        'form_type ' || form_type || ' is not in form_types: the rule never fires' as problem
    from rules
    where form_type is not null and form_type not in (select form_type from form_types)
    union all
    select
        rule_id,
        'keyword_group ' || coalesce(keyword_group, '(empty)') || ' is not in title_keywords: the rule never fires'
            as problem
    from rules
    where signal = 'title'
        and (keyword_group is null or keyword_group not in (select keyword_group from keyword_groups))
)

select * from problems
