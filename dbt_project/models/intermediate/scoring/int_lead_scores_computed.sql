{#- The score of every person at every point in time of int_score_points: the sum of the points the
    enabled rules award (int_lead_score_rules, where caps and decay are applied), split into fit
    (rule_group fit) and engagement (engagement and negative rules), and the reasons a CRM field or
    a chat message shows: the rules by points, highest first, a rule that hit more than once with
    its count ("trial request +30, pricing page 2× +15, director or above +20"), in English and in
    Chinese. A rule whose points round to 0 (decayed away) is not listed. -#}
with

score_points as (
    select * from {{ ref('int_score_points') }}
),

rule_points as (
    select * from {{ ref('int_lead_score_rules') }}
    where is_enabled
),

activity as (
    select * from {{ ref('int_score_point_activity') }}
),

explained as (
    select
        rule_points.*,
        cast(round(rule_points.points_awarded) as integer) as shown_points,
        case
            when rule_points.signal = 'event' and rule_points.hits > 1
                then ' ' || cast(rule_points.hits as {{ sql_type('varchar') }}) || '×'
            else ''
        end as hits_shown
    from rule_points
),

reasons as (
    select
        explained.*,
        explained.description || hits_shown || ' '
        || case when shown_points >= 0 then '+' else '' end || cast(shown_points as {{ sql_type('varchar') }}) as reason,
        explained.description_zh || hits_shown || ' '
        || case when shown_points >= 0 then '+' else '' end || cast(shown_points as {{ sql_type('varchar') }}) as reason_zh
    from explained
),

summed as (
    select
        score_points.person_id,
        score_points.score_point,
        score_points.as_of_at,
        coalesce({{ exact_sum('reasons.points_awarded') }}, 0) as points,
        coalesce({{ exact_sum("case when reasons.rule_group = 'fit' then reasons.points_awarded end") }}, 0) as fit_points,
        coalesce({{ exact_sum("case when reasons.rule_group <> 'fit' then reasons.points_awarded end") }}, 0) as engagement_points,
        coalesce(
            {{ dbt.listagg(
                "case when reasons.shown_points <> 0 then reasons.reason end", "', '",
                'order by reasons.points_awarded desc, reasons.rule_id'
            ) }},
            ''
        ) as score_reasons,
        coalesce(
            {{ dbt.listagg(
                "case when reasons.shown_points <> 0 then reasons.reason_zh end", "'，'",
                'order by reasons.points_awarded desc, reasons.rule_id'
            ) }},
            ''
        ) as score_reasons_zh
    from score_points
    left join reasons
        on reasons.person_id = score_points.person_id
        and reasons.score_point = score_points.score_point
    group by 1, 2, 3
),

final as (
    select
        summed.person_id,
        summed.score_point,
        summed.as_of_at,
        cast(round(summed.fit_points) as integer) + cast(round(summed.engagement_points) as integer) as lead_score,
        cast(round(summed.fit_points) as integer) as fit_score,
        cast(round(summed.engagement_points) as integer) as engagement_score,
        summed.score_reasons,
        summed.score_reasons_zh,
        activity.last_activity_at
    -- this model's own joins (on person_id): a join chain alike in shape only to other models', other relations
    from summed
    left join activity
        on activity.person_id = summed.person_id
        and activity.score_point = summed.score_point
)

select * from final
