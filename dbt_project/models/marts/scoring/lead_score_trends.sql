{#- lead_score_history as of today's person ids: every snapshot row with person_id mapped through
    the merges of int_identity_id_changes (a retired id, however many merges ago, to the id its
    person lives on as), so "first crossed 60 on day D" and trends hold across merges. Two people
    merged later keep their own rows for the days before the merge (snapshot_person_id tells them
    apart). A view: it follows the history and the id log without copying them. -#}
{#- Spark 3.5 has no recursive CTE: there the chains of merges are followed in rounds
    (union_all_in_rounds, the same rows as `retired` below) into a scratch table, and the model is a
    table, since a view would outlive the scratch table it reads. -#}
{{ config(
    materialized=('view' if recursive_ctes() else 'table'),
    post_hook="{{ recursive_rounds_cleanup(this, 'retired') }}",
) }}
{%- set merges_sql -%}
    select from_person_id, to_person_id
    from {{ ref('int_identity_id_changes') }}
    where reason = 'merged'
{%- endset -%}
{%- set retired_rounds = none -%}
{%- if execute and not recursive_ctes() -%}
    {%- set retired_rounds = union_all_in_rounds(
        'retired',
        'select from_person_id, to_person_id, 1 as depth from (' ~ merges_sql ~ ') as merges',
        'select retired.from_person_id, merges.to_person_id, retired.depth + 1 as depth'
        ~ ' from __previous__ as retired inner join (' ~ merges_sql ~ ') as merges'
        ~ ' on merges.from_person_id = retired.to_person_id where retired.depth < 50',
        this,
    ) -%}
{%- endif %}
with{{ ' recursive' if retired_rounds is none }}

merges as (
    {{ merges_sql }}
),

{% if retired_rounds is none -%}
retired as (
    select
        from_person_id,
        to_person_id,
        1 as depth
    from merges
    union all
    select
        retired.from_person_id,
        merges.to_person_id,
        retired.depth + 1
    from retired
    inner join merges
        on merges.from_person_id = retired.to_person_id
    where retired.depth < 50
),
{%- else -%}
retired as (
    select from_person_id, to_person_id, depth from {{ retired_rounds }}
),
{%- endif %}

survivors as (
    select
        from_person_id,
        to_person_id,
        row_number() over (partition by from_person_id order by depth desc) as rank_deepest
    from retired
),

history as (
    select * from {{ ref('lead_score_history') }}
),

final as (
    select
        history.snapshot_date,
        coalesce(survivors.to_person_id, history.person_id) as person_id,
        history.person_id as snapshot_person_id,
        history.lead_score,
        history.grade,
        history.fit_score,
        history.engagement_score,
        history.intent_matrix_cell,
        history.score_reasons,
        history.conversion_probability,
        history.conversion_model_version,
        history.scored_at
    from history
    left join survivors
        on survivors.from_person_id = history.person_id
        and survivors.rank_deepest = 1
)

select * from final
