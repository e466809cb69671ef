{#- What converts and how long a scored lead has for it (int_lead_conversion_events, the labels of
    conversion_labels): the vars conversion_event (default opportunity_created) and
    conversion_window_days (default 30; won or ordered: use 90-120), else INTENT_CONVERSION_EVENT and
    INTENT_CONVERSION_WINDOW_DAYS (macro setting, read when a node runs: a test or a deployment that
    switches them keeps dbt's parse). Their defaults live here, not in dbt_project.yml. -#}
{% macro conversion_event() -%}
    {{- return(setting('conversion_event', 'opportunity_created')) -}}
{%- endmacro %}

{% macro conversion_window_days() -%}
    {{- return(setting('conversion_window_days', 30)) -}}
{%- endmacro %}


{#- What converts, in words, for the closed loop's readers: "opportunity_created within 30 days",
    "stage_reached Proposal within 60 days" (conversion_event, var conversion_stage,
    conversion_window_days; int_lead_conversion_events applies them). -#}
{% macro conversion_definition() -%}
    {{- conversion_event() -}}
    {%- if conversion_event() == 'stage_reached' %} {{ var('conversion_stage') | replace("'", "") }}{% endif -%}
    {{- ' within ' ~ conversion_window_days() ~ ' days' -}}
{%- endmacro %}


{#- The approved conversion model (scoring_model.to_dbt_var's form) the models apply, or none
    (the rule score alone). The var scoring_model wins when it is given (`--vars`, unit tests; a
    unit test's `scoring_model: null` means none); otherwise the environment variable
    INTENT_SCORING_MODEL, the var as JSON (empty: none), which is how the DAG passes it: a changed
    var makes dbt re-parse the whole project, an env var read when the node runs nothing. -#}
{% macro scoring_model() -%}
    {#- macro setting: read only when a node runs, as the interval: a model approved between two
        runs re-parses nothing; the models' conditional refs are declared with depends_on. A var
        comes as YAML (a mapping, or null: none), the environment's text as JSON -#}
    {%- set given = setting('scoring_model') -%}
    {%- if given is not string -%}
        {{- return(given) -}}
    {%- endif -%}
    {%- set model = fromjson(given) -%}
    {%- if model is not mapping -%}
        {{- exceptions.raise_compiler_error("INTENT_SCORING_MODEL must be the scoring model var as a JSON object (scoring_model.to_dbt_var), got '" ~ given[:80] ~ "'") -}}
    {%- endif -%}
    {{- return(model) -}}
{%- endmacro %}


{#- The approved model's weights as a relation (feature, weight, training_mean): one row per
    feature of ``model`` (the var scoring_model, scoring_model.to_dbt_var). Person-level and
    lead-level scoring both read it, so both apply the same model the same way. -#}
{% macro scoring_model_weights(model) -%}
    select * from (
        values
        {%- for f in model['features'] %}
        ('{{ f["feature"] | replace("'", "''") }}', {{ f['weight'] }}, {{ f['mean'] }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as weights (feature, weight, training_mean)
{%- endmacro %}


{#- The model's linear predictor for each row of ``points`` (a relation whose ``keys`` columns say
    what is scored: a person at a point, a CRM lead) from ``features`` (the same keys, feature,
    value): the CTEs weights (scoring_model_weights), contributions (term = weight * value, and
    contribution = weight * (value - training mean), which scoring_top_factors ranks) and linear
    (z = intercept + the sum of the terms; a row without features gets the intercept). Person-level
    (int_lead_conversion_scores) and lead-level (int_crm_lead_conversion_scores) scoring both use it. -#}
{% macro scoring_linear_predictor(model, features, points, keys) -%}
weights as (
    {{ scoring_model_weights(model) }}
),

contributions as (
    select
        {%- for key in keys %}
        {{ features }}.{{ key }},
        {%- endfor %}
        {{ features }}.feature,
        weights.weight * {{ features }}.value as term,
        weights.weight * ({{ features }}.value - weights.training_mean) as contribution
    from {{ features }}
    inner join weights
        on weights.feature = {{ features }}.feature
),

linear as (
    select
        {%- for key in keys %}
        {{ points }}.{{ key }},
        {%- endfor %}
        {{ model['intercept'] }} + coalesce(sum(contributions.term), 0) as z
    from {{ points }}
    left join contributions
        on {% for key in keys %}{{ 'and ' if not loop.first }}contributions.{{ key }} = {{ points }}.{{ key }}{{ '\n        ' if not loop.last }}{% endfor %}
    group by {% for key in keys %}{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
)
{%- endmacro %}


{#- The calibrated probability of the linear predictor ``z`` (a SQL expression) under the model
    var's calibration (scoring_model.to_dbt_var, the Python reference is scoring_model.calibrate):
    Platt, 1 / (1 + exp(-(calibration_a * z + calibration_c))), or isotonic, the points
    calibration_x / calibration_y joined by straight lines and flat beyond the first and last
    (numpy.interp). A var without calibration_method is Platt. -#}
{% macro scoring_model_probability(model, z) -%}
    {%- if model.get('calibration_method', 'platt') == 'isotonic' -%}
        {%- set xs = model['calibration_x'] -%}
        {%- set ys = model['calibration_y'] -%}
        case
            when {{ z }} <= cast({{ xs[0] }} as {{ sql_type('double precision') }}) then cast({{ ys[0] }} as {{ sql_type('double precision') }})
            {%- for i in range(1, xs | length) %}
            when {{ z }} <= cast({{ xs[i] }} as {{ sql_type('double precision') }})
                then cast({{ (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]) }} as {{ sql_type('double precision') }})
                    * ({{ z }} - cast({{ xs[i - 1] }} as {{ sql_type('double precision') }}))
                    + cast({{ ys[i - 1] }} as {{ sql_type('double precision') }})
            {%- endfor %}
            else cast({{ ys[-1] }} as {{ sql_type('double precision') }})
        end
    {%- else -%}
        1.0 / (1.0 + exp(-({{ model['calibration_a'] }} * {{ z }} + {{ model['calibration_c'] }})))
    {%- endif -%}
{%- endmacro %}


{#- The grade of a CRM lead when the approved model says its probability ranks better than the rule
    score (scoring_model.probability_grades: grades.basis conversion_probability) and the var
    grade_basis is auto: cut on ``probability`` at the model's thresholds; else ``rule_grade`` (the
    points grade of grade_of). -#}
{% macro uses_probability_grades(model) -%}
    {{- return(
        model is not none and model.get('grades') is not none
        and model['grades']['basis'] == 'conversion_probability'
        and var('grade_basis', 'auto') == 'auto'
    ) -}}
{%- endmacro %}

{% macro probability_grade_of(model, probability) -%}
    case
        when {{ probability }} is null then null
        when {{ probability }} >= cast({{ model['grades']['high_intent'] }} as {{ sql_type('double precision') }}) then 'high_intent'
        when {{ probability }} >= cast({{ model['grades']['potential'] }} as {{ sql_type('double precision') }}) then 'potential'
        else 'nurture'
    end
{%- endmacro %}



{#- The three strongest reasons a probability is high, as one text per ``key`` ("pricing page +1.18,
    engagement seconds (all time) +1.05"): from ``contributions`` (a CTE with ``key``, feature and
    contribution = weight * (value - training mean)), the positive contributions largest first, each
    named by its rule's description or, for an activity feature, by its name. ``where``: which rows
    of ``contributions`` count (the person-level model reads only the `current` point). The CTEs
    ranked, labelled and factors; person-level (int_lead_conversion_scores) and lead-level
    (int_crm_lead_conversion_scores) scoring both use it, so both explain the same way. -#}
{% macro scoring_top_factors(key, where='true') -%}
ranked as (
    select
        contributions.*,
        row_number() over (
            partition by contributions.{{ key }} order by contributions.contribution desc, contributions.feature
        ) as factor_rank
    from contributions
    where contributions.contribution > 0 and {{ where }}
),

top_factor_rules as (
    select * from {{ ref('scoring_rules') }}
),

labelled as (
    -- a rule feature reads as the rule's description ("pricing page"), its hit count as the
    -- description with "(how often)", an activity feature as its name
    select
        ranked.*,
        coalesce(
            top_factor_rules.description || case when ranked.feature like 'log_hits:%' then ' (how often)' else '' end,
            replace(replace(replace(ranked.feature, 'log_', ''), '_all', ' (all time)'), '_', ' ')
        ) as label
    from ranked
    left join top_factor_rules
        on ranked.feature in ('rule:' || top_factor_rules.rule_id, 'log_hits:' || top_factor_rules.rule_id)
),

factors as (
    select
        {{ key }},
        {{ dbt.listagg(
            "label || ' +' || cast(round(cast(contribution as numeric), 2) as " ~ sql_type('varchar') ~ ")", "', '",
            'order by factor_rank'
        ) }} as top_factors
    from labelled
    where factor_rank <= 3
    group by 1
)
{%- endmacro %}



{#- When each point of ``points`` (a CTE with score_point and as_of_at) converted: the CTEs
    earlier_conversions (the points whose lead converted before them: no example there) and
    conversions (the first conversion within conversion_window_days() after the point), from the
    CTE conversion_events (int_lead_conversion_events); ``lead_match`` joins a point to its lead's
    conversion events. The closed loop (lead_conversion_examples) and the snapshot examples
    (int_lead_snapshot_examples) label the same way. -#}
{% macro conversion_labels(points, lead_match) -%}
earlier_conversions as (
    select distinct {{ points }}.score_point
    from {{ points }}
    inner join conversion_events
        on {{ lead_match }}
        and conversion_events.converted_at < {{ points }}.as_of_at
),

conversions as (
    select
        {{ points }}.score_point,
        min(conversion_events.converted_at) as converted_at
    from {{ points }}
    inner join conversion_events
        on {{ lead_match }}
        and conversion_events.converted_at >= {{ points }}.as_of_at
        and conversion_events.converted_at
            <= {{ dbt.dateadd('day', conversion_window_days(), points ~ '.as_of_at') }}
    group by 1
)
{%- endmacro %}


{#- A point's label is complete when its conversion window closed by the interval's end (``events``:
    the CTE interval_end_at reads) and its lead had not converted before it (earlier_conversions of
    conversion_labels): counting the early converters of an open window would make the newest leads
    look better than they are. -#}
{% macro conversion_label_complete(points, events='events') -%}
(
    {{ dbt.dateadd('day', conversion_window_days(), points ~ '.as_of_at') }}
    <= {{ interval_end_at(events) }}
    and earlier_conversions.score_point is null
)
{%- endmacro %}
