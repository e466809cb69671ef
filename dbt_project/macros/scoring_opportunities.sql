{#- The opportunity stage as the CRM knew it at a point in time: one home for the conversion model's
    opportunity features (int_scoring_features) and the opportunity rules (int_lead_score_rules,
    signals opportunity_stage and opportunity_stalled). Nothing a later export says is read back
    into the past. -#}


{#- The 1-based position of the stage ``stage`` (an SQL expression) in var opportunity_stages
    (compared trimmed and lower-cased), null for a stage outside it (Closed Lost, a typo). -#}
{% macro opportunity_stage_index(stage) -%}
    {%- set stages = var('opportunity_stages') | map('lower') | list %}
                    case lower(trim({{ stage }}))
                        {%- for s in stages %}
                        when '{{ s | replace("'", "''") }}' then {{ loop.index }}
                        {%- endfor %}
                    end
{%- endmacro %}


{#- The opportunities of the leads of ``points`` (a CTE with person_id, score_point, as_of_at and
    lead_id) as the CRM knew them at the point, one row per point and opportunity, from the CTE
    opportunity_versions (stg_crm__opportunity_versions): created at or before the point;
    lost_by_then / closed_by_then from the latest version known at the point (the latest export of
    those known then: a closed version is known from its closed_at, an open one from its stage's
    known time), so a deal closed lost and re-opened is lost between its close and its re-opening
    and open after it; stage_index (macro opportunity_stage_index) the furthest stage of a version
    whose stage is known at or before it, and stage_changed_at the latest stage change known then (a
    later stage, or the final one, is never read back into the past).
    A version's stage is known from its stage_changed_at; an export without one (docs/contracts.md:
    optional) shows its stage from the end of its export day (_interval_start + 1 day), never earlier,
    and a change of stage from the end of the first export that shows a stage other than the
    previous export's (a first export's stage is no known change: the stalled rule counts from the
    creation then). -#}
{#- Whether an export shows another stage than the export before it (`previous` null: none before it,
    so no known change): the one rule of "the stage changed between two exports", read by
    opportunities_known_at (scoring) and segment_funnel_stalls (since when an opportunity is in its
    stage); case and surrounding spaces are no change. -#}
{% macro stage_changed(previous, stage) -%}
    lower(trim({{ stage }})) <> lower(trim({{ previous }}))
{%- endmacro %}

{% macro opportunities_known_at(points) -%}
    select
        person_id,
        score_point,
        as_of_at,
        opportunity_id,
        min(created_at) as created_at,
        max(case when known_rank = 1 and known_at <= as_of_at and is_closed and not is_won then 1 else 0 end) as lost_by_then,
        max(case when known_rank = 1 and known_at <= as_of_at and is_closed then 1 else 0 end) as closed_by_then,
        max(
            case
                when stage_known_at <= as_of_at then {{ opportunity_stage_index('stage') }}
            end
        ) as stage_index,
        max(case when change_known_at <= as_of_at then change_known_at end) as stage_changed_at
    from (
        select
            known.*,
            -- the latest export among the versions known at the point (one version per export; then
            -- the latest known, for versions without their export, as a unit test's)
            row_number() over (
                partition by person_id, score_point, as_of_at, opportunity_id
                order by case when known_at <= as_of_at then 0 else 1 end, _interval_start desc nulls last,
                    known_at desc nulls last
            ) as known_rank
        from (
            select
                {{ points }}.person_id,
                {{ points }}.score_point,
                {{ points }}.as_of_at,
                opportunity_versions.opportunity_id,
                opportunity_versions.created_at,
                opportunity_versions.is_closed,
                opportunity_versions.is_won,
                opportunity_versions.stage,
                opportunity_versions._interval_start,
                opportunity_versions.stage_known_at,
                coalesce(
                    opportunity_versions.stage_changed_at,
                    case
                        when {{ stage_changed('opportunity_versions.previous_stage', 'opportunity_versions.stage') }}
                            then opportunity_versions.stage_known_at
                    end
                ) as change_known_at,
                case
                    when opportunity_versions.is_closed then cast(opportunity_versions.closed_at as timestamp)
                    else opportunity_versions.stage_known_at
                end as known_at
            from {{ points }}
            inner join (
                select
                    opportunity_versions.*,
                    coalesce(
                        opportunity_versions.stage_changed_at,
                        {{ dbt.dateadd('day', 1, 'cast(opportunity_versions._interval_start as timestamp)') }}
                    ) as stage_known_at,
                    lag(opportunity_versions.stage) over (
                        partition by opportunity_versions.opportunity_id
                        order by opportunity_versions._interval_start
                    ) as previous_stage
                from opportunity_versions
            ) as opportunity_versions
                on opportunity_versions.lead_id = {{ points }}.lead_id
                and opportunity_versions.created_at <= {{ points }}.as_of_at
        ) as known
    ) as ranked
    group by 1, 2, 3, 4
{%- endmacro %}
