{#- Fellegi-Sunter record linkage with the comparisons, levels and blocking rules given as data
    (issue 12, part 2), for an outside table: any columns, dedupe or link-only. The pipeline's own
    identity step keeps its specialised macro (probabilistic_match_pairs): the configured path does
    not (yet) reproduce its name/pinyin and email rules. docs/identity.md ("Matching an outside
    table") shows a configuration; `dbt run-operation configured_match_table` runs it.

    config (a mapping, e.g. from --args):
      record_id        column holding the record's id (default record_id)
      link_only        true: two sources, pairs only across them (source_column tells which)
      source_column    default source_dataset
      max_block_size   a blocking key shared by more records finds no pairs (default 50)
      matches_per_record  other records of the same person per record (the prior); link-only:
                       matches per record of the other source (default 1)
      comparisons      list of {name, column, type, thresholds, m, u, contradicts_at_or_below}
        type exact                 1 equal, 0 different
             damerau_levenshtein   top equal, then one level per threshold (edits <= t), 0 else
             jaro_winkler          top equal, then one level per threshold (similarity >= t), 0 else
             date_parts            3 equal; 2 one of year / month / day differs, or day and month
                                   swapped (one difference, not two edits on the text), or one edit
                                   on the digits of a value that is no date; 1 within `thresholds[0]`
                                   days (default 365); 0 else
             numeric               top equal, then one level per threshold (|a - b| <= t), 0 else;
                                   -1 when a side is no number (counted as a failure)
             email_local           2 equal address; 1 one typo on the local part (dots included) at
                                   one domain, or one on the domain with the same local part; 0 else
             pinyin_name           a full name: 3 written the same; 2 the same pinyin syllables
                                   (王伟, Wang Wei, wang-wei; seed identity_match_pinyin must be
                                   loaded: dbt seed --select identity_match_pinyin); 1 the same
                                   name turned round (Wei Wang, 伟王 is not: a name in characters
                                   has its surname first); 0 else (no typo level: Zhang / Huang)
        every comparison is -1 when either side is null (no evidence either way).
        m, u: P(level | match), P(level | non-match), lists indexed by level (0 .. top); a
        comparison without them weighs 0 (its levels are still reported, e.g. for EM).
        contradicts_at_or_below: a level at or below which the pair is two people (veto, -30).
      corroboration    list of {comparison, at_least}: when given, a pair is a match only when one
                       of them is at or above its level (else is_uncorroborated, -30)
      blocking_rules   list of {name, keys: [SQL expressions over the input columns]}; a record
                       gets one key per expression, a null key is no key
    Standardisation: text is trimmed and lower-cased (empty = null); date_parts parses YYYYMMDD,
    YYYY-MM-DD, YYYY/MM/DD and DD/MM/YYYY; numeric takes digits, sign and one point. A value that
    does not parse is a standardisation failure: configured_match_standardisation counts them per
    comparison and configured_match_table logs them (a date that is no date is still compared on
    its digits; a number that is none gives no evidence). -#}

{% macro cm_text(value) -%}
    nullif(trim(lower(cast({{ value }} as varchar))), '')
{%- endmacro %}

{% macro cm_digits(value) -%}
    nullif(regexp_replace(cast({{ value }} as varchar), '[^0-9]', '', 'g'), '')
{%- endmacro %}

{#- A date from text, null when it is none of the accepted layouts. -#}
{% macro cm_parse_date(value) -%}
    {{ return(adapter.dispatch('cm_parse_date')(value)) }}
{%- endmacro %}

{% macro default__cm_parse_date(value) -%}
    case
        when trim({{ value }}) similar to '[0-9]{8}' then to_date(trim({{ value }}), 'YYYYMMDD')
        when trim({{ value }}) similar to '[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}' then to_date(replace(trim({{ value }}), '/', '-'), 'YYYY-MM-DD')
    end
{%- endmacro %}

{% macro duckdb__cm_parse_date(value) -%}
    cast(try_strptime(trim(cast({{ value }} as varchar)), ['%Y%m%d', '%Y-%m-%d', '%Y/%m/%d', '%d/%m/%Y']) as date)
{%- endmacro %}

{% macro cm_parse_number(value) -%}
    {{ return(adapter.dispatch('cm_parse_number')(value)) }}
{%- endmacro %}

{% macro default__cm_parse_number(value) -%}
    case when trim(cast({{ value }} as varchar)) similar to '-?[0-9]+([.][0-9]+)?'
        then cast(trim(cast({{ value }} as varchar)) as double precision) end
{%- endmacro %}

{% macro duckdb__cm_parse_number(value) -%}
    try_cast(trim(cast({{ value }} as varchar)) as double)
{%- endmacro %}

{#- The highest level of a comparison (its number of levels - 1). -#}
{% macro cm_top_level(comparison) -%}
    {%- set kind = comparison['type'] -%}
    {%- set thresholds = comparison.get('thresholds') -%}
    {%- if kind == 'exact' -%}{{ return(1) }}
    {%- elif kind in ('damerau_levenshtein', 'jaro_winkler', 'numeric') -%}
        {%- set defaults = {'damerau_levenshtein': [1, 2], 'jaro_winkler': [0.92, 0.8], 'numeric': []} -%}
        {{ return((thresholds if thresholds is not none else defaults[kind]) | length + 1) }}
    {%- elif kind == 'date_parts' -%}{{ return(3) }}
    {%- elif kind == 'email_local' -%}{{ return(2) }}
    {%- elif kind == 'pinyin_name' -%}{{ return(3) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("configured_match: comparison " ~ comparison['name'] ~ " has type '" ~ kind
            ~ "'; built: exact, damerau_levenshtein, jaro_winkler, date_parts, numeric, email_local, pinyin_name") }}
    {%- endif -%}
{%- endmacro %}

{#- Pinyin of the characters `first`..`last` of a name in Chinese characters (the first character
    read as a surname), from the seed identity_match_pinyin; null when a character is not in it. -#}
{% macro cm_hanzi_pinyin(hz, first, last) -%}
    (
        select
            case when count(pinyin_seed.pinyin) = count(*) then
                {{ dbt.listagg(
                    "case when positions.pos = 1 then coalesce(nullif(pinyin_seed.surname_pinyin, ''), pinyin_seed.pinyin) else pinyin_seed.pinyin end",
                    "''", 'order by positions.pos') }}
            end
        from generate_series(1, length({{ hz }})) as positions (pos)
        left join {{ ref('identity_match_pinyin') }} as pinyin_seed
            on pinyin_seed.character = substr({{ hz }}, positions.pos, 1)
        where positions.pos between {{ first }} and {{ last }}
    )
{%- endmacro %}

{#- A full name (pinyin_name): written form, its syllables in written order, and turned round. -#}
{% macro cm_pinyin_name(column, name) -%}
    {%- set written = "nullif(trim(regexp_replace(lower(cast(" ~ column ~ " as varchar)), '[\\s.,·_-]+', ' ', 'g')), '')" -%}
    {%- set is_hanzi = "regexp_replace(" ~ written ~ ", '[一-龥 ]', '', 'g') = ''" -%}
    {%- set hz = "replace(" ~ written ~ ", ' ', '')" -%}
    {%- set surname_length = "case when left(" ~ hz ~ ", 2) in ('" ~ compound_chinese_surnames() | join("', '")
        ~ "') and length(" ~ hz ~ ") > 2 then 2 else 1 end" -%}
    {{ written }} as v_{{ name }},
    case
        when {{ is_hanzi }} then {{ cm_hanzi_pinyin(hz, 1, 'length(' ~ hz ~ ')') }}
        else {{ latin_letters(written) }}
    end as d_{{ name }},
    case
        when {{ is_hanzi }} then
            {{ cm_hanzi_pinyin(hz, surname_length ~ ' + 1', 'length(' ~ hz ~ ')') }}
            || {{ cm_hanzi_pinyin(hz, 1, surname_length) }}
        when position(' ' in {{ written }}) > 0 then
            {{ latin_letters("regexp_replace(" ~ written ~ ", '^.* ', '')") }}
            || {{ latin_letters("regexp_replace(" ~ written ~ ", ' [^ ]*$', '')") }}
    end as x_{{ name }}
{%- endmacro %}

{#- The comparison's standardised value(s) as select-list items for one record. -#}
{% macro cm_standardised(comparison) -%}
    {%- set name = comparison['name'] -%}
    {%- set column = comparison['column'] -%}
    {%- set kind = comparison['type'] -%}
    {%- if kind == 'pinyin_name' -%}
    {{ cm_pinyin_name(column, name) }}
    {%- else -%}
    {{ cm_text(column) }} as v_{{ name }},
    {%- if kind == 'date_parts' %}
    {{ cm_parse_date(cm_text(column)) }} as d_{{ name }},
    {{ cm_digits(column) }} as x_{{ name }}
    {%- elif kind == 'numeric' %}
    {{ cm_parse_number(cm_text(column)) }} as d_{{ name }},
    cast(null as varchar) as x_{{ name }}
    {%- elif kind == 'email_local' %}
    case when position('@' in {{ cm_text(column) }}) > 0
        then split_part(replace({{ cm_text(column) }}, ' ', ''), '@', 1) end as d_{{ name }},
    case when position('@' in {{ cm_text(column) }}) > 0
        then split_part(replace({{ cm_text(column) }}, ' ', ''), '@', 2) end as x_{{ name }}
    {%- else %}
    cast(null as varchar) as d_{{ name }},
    cast(null as varchar) as x_{{ name }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- The level of one comparison for a pair (l., r. the two records' standardised values). -#}
{% macro cm_level(comparison) -%}
    {%- set name = comparison['name'] -%}
    {%- set kind = comparison['type'] -%}
    {%- set top = cm_top_level(comparison) -%}
    {%- set a = 'l.v_' ~ name -%}{%- set b = 'r.v_' ~ name -%}
    case
        when {{ a }} is null or {{ b }} is null then -1
        when {{ a }} = {{ b }} then {{ top }}
    {%- if kind == 'damerau_levenshtein' %}
        {%- for t in comparison.get('thresholds') or [1, 2] %}
        when {{ edit_distance_with_swaps(a, b) }} <= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
    {%- elif kind == 'jaro_winkler' %}
        {%- for t in comparison.get('thresholds') or [0.92, 0.8] %}
        when {{ string_similarity(a, b) }} >= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
    {%- elif kind == 'numeric' %}
        -- a value that is no number (counted by configured_match_standardisation): no evidence
        when l.d_{{ name }} is null or r.d_{{ name }} is null then -1
        when l.d_{{ name }} = r.d_{{ name }} then {{ top }}
        {%- for t in comparison.get('thresholds') or [] %}
        when abs(l.d_{{ name }} - r.d_{{ name }}) <= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
    {%- elif kind == 'date_parts' %}
        {%- set da = 'l.d_' ~ name -%}{%- set db = 'r.d_' ~ name %}
        when {{ da }} = {{ db }} then 3
        -- exactly one of year, month, day differs, or day and month are swapped: one difference
        when (case when year({{ da }}) = year({{ db }}) then 1 else 0 end)
            + (case when month({{ da }}) = month({{ db }}) then 1 else 0 end)
            + (case when day({{ da }}) = day({{ db }}) then 1 else 0 end) = 2 then 2
        when year({{ da }}) = year({{ db }}) and month({{ da }}) = day({{ db }}) and day({{ da }}) = month({{ db }}) then 2
        -- a value that is no date: one edit on its digits
        when ({{ da }} is null or {{ db }} is null) and l.x_{{ name }} is not null and r.x_{{ name }} is not null
            and {{ edit_distance_with_swaps('l.x_' ~ name, 'r.x_' ~ name) }} <= 1 then 2
        when abs({{ db }} - {{ da }}) <= {{ (comparison.get('thresholds') or [365])[0] }} then 1
    {%- elif kind == 'pinyin_name' %}
        -- the same syllables (王伟 / Wang Wei / wang-wei), then the same name turned round (Wei Wang);
        -- no typo level: in pinyin one letter makes another name (Zhang / Huang, Wang / Yang)
        when l.d_{{ name }} = r.d_{{ name }} then 2
        when l.d_{{ name }} = r.x_{{ name }} or l.x_{{ name }} = r.d_{{ name }} then 1
    {%- elif kind == 'email_local' %}
        when l.x_{{ name }} = r.x_{{ name }} and least(length(l.d_{{ name }}), length(r.d_{{ name }})) >= 4
            and {{ edit_distance_with_swaps('l.d_' ~ name, 'r.d_' ~ name) }} <= 1 then 1
        when l.d_{{ name }} = r.d_{{ name }}
            and {{ edit_distance_with_swaps('l.x_' ~ name, 'r.x_' ~ name) }} <= 1 then 1
    {%- endif %}
        else 0
    end
{%- endmacro %}

{#- Blocking keys of one record, one column per (rule, expression). -#}
{% macro cm_key_columns(rules) -%}
    {%- for rule in rules %}
        {%- set rule_index = loop.index %}
        {%- for key in rule['keys'] %}
    cast({{ key }} as varchar) as k_{{ rule_index }}_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Candidate pairs of `records` under `config`, scored: record_id_l, record_id_r (record_id_l <
    record_id_r), match_weight, match_probability, is_contradicted, is_uncorroborated, matched_by
    and one gamma_<name> per comparison. Not filtered: callers keep their threshold.
    sample_records: every pair among that many random records instead of blocking (for u). -#}
{% macro configured_match_pairs(records, config, sample_records=none) %}
    {%- set comparisons = config['comparisons'] -%}
    {%- set rules = config.get('blocking_rules') or [] -%}
    {%- set link_only = config.get('link_only', false) -%}
    {%- set source_column = config.get('source_column', 'source_dataset') -%}
    {%- set max_block_size = config.get('max_block_size', 50) -%}
    {%- set corroboration = config.get('corroboration') or [] -%}
    {%- if not rules and sample_records is none -%}
        {{ exceptions.raise_compiler_error("configured_match: no blocking_rules (every pair of a big table is too many)") }}
    {%- endif -%}
with

cm_input as (
    select
        cast({{ config.get('record_id', 'record_id') }} as varchar) as record_id,
        {% if link_only %}cast({{ source_column }} as varchar){% else %}cast(null as varchar){% endif %} as source_dataset,
        {%- for comparison in comparisons %}
        {{ cm_standardised(comparison) }},
        {%- endfor %}
        {{ cm_key_columns(rules) if rules else '0 as no_key' }}
    from {{ records }}
),

{% if sample_records is none %}
cm_keys as (
    {%- for rule in rules %}
        {%- set rule_index = loop.index %}
        {%- for key in rule['keys'] %}
    select record_id, source_dataset, {{ rule_index }} as rule_rank, k_{{ rule_index }}_{{ loop.index }} as block_key
    from cm_input where k_{{ rule_index }}_{{ loop.index }} is not null
    {{ 'union' if not loop.last }}
        {%- endfor %}
    {{ 'union' if not loop.last }}
    {%- endfor %}
),

cm_sized_keys as (
    select
        record_id,
        source_dataset,
        rule_rank,
        block_key,
        count(*) over (partition by rule_rank, block_key) as block_size
    from cm_keys
),

cm_candidates as (
    select
        l.record_id as record_id_l,
        r.record_id as record_id_r,
        min(l.rule_rank) as rule_rank
    from cm_sized_keys as l
    inner join cm_sized_keys as r
        on l.rule_rank = r.rule_rank
        and l.block_key = r.block_key
        and l.record_id < r.record_id
        {%- if link_only %}
        and l.source_dataset <> r.source_dataset
        {%- endif %}
    where l.block_size <= {{ max_block_size }}
    group by l.record_id, r.record_id
),
{% else %}
cm_sample as (
    select record_id, source_dataset from cm_input order by random() limit {{ sample_records }}
),

cm_candidates as (
    select l.record_id as record_id_l, r.record_id as record_id_r, 0 as rule_rank
    from cm_sample as l
    inner join cm_sample as r
        on l.record_id < r.record_id
        {%- if link_only %}
        and l.source_dataset <> r.source_dataset
        {%- endif %}
),
{% endif %}

cm_gammas as (
    select
        cm_candidates.record_id_l,
        cm_candidates.record_id_r,
        cm_candidates.rule_rank
        {%- for comparison in comparisons %},
        {{ cm_level(comparison) }} as gamma_{{ comparison['name'] }}
        {%- endfor %}
    from cm_candidates
    inner join cm_input as l
        on l.record_id = cm_candidates.record_id_l
    inner join cm_input as r
        on r.record_id = cm_candidates.record_id_r
),

cm_prior as (
    -- P(two random candidate records are one person): matches per record over the records a record
    -- can be paired with (the other source's, link-only)
    select ln(prior / (1 - prior)) / ln(2) as prior_weight
    from (
        select least({{ config.get('matches_per_record', 1) }} / greatest(max(n) - {{ 0 if link_only else 1 }}, 1), 0.5) as prior
        from (select count(*) as n from cm_input group by source_dataset) as counted
    ) as prior_probability
),

cm_weighed as (
    select
        cm_gammas.*,
        {%- set vetoes = [] %}
        {%- for comparison in comparisons if comparison.get('contradicts_at_or_below') is not none %}
            {%- do vetoes.append('gamma_' ~ comparison['name'] ~ ' between 0 and ' ~ comparison['contradicts_at_or_below']) %}
        {%- endfor %}
        {{ '(' ~ vetoes | join(' or ') ~ ')' if vetoes else 'false' }} as is_contradicted,
        {%- set agreements = [] %}
        {%- for rule in corroboration %}
            {%- do agreements.append('gamma_' ~ rule['comparison'] ~ ' >= ' ~ rule['at_least']) %}
        {%- endfor %}
        {{ 'not (' ~ agreements | join(' or ') ~ ')' if agreements else 'false' }} as is_uncorroborated,
        cm_prior.prior_weight
        {%- for comparison in comparisons if comparison.get('m') is not none %}
        + case gamma_{{ comparison['name'] }}
            {%- for m in comparison['m'] %}
            when {{ loop.index0 }} then ln({{ m }} / {{ comparison['u'][loop.index0] }}) / ln(2)
            {%- endfor %}
            else 0
        end
        {%- endfor %} as evidence_weight
    from cm_gammas
    cross join cm_prior
),

cm_final as (
    select
        record_id_l,
        record_id_r,
        cast(case when is_contradicted or is_uncorroborated then -30.0 else evidence_weight end as double precision)
            as match_weight,
        cast(1.0 / (1.0 + power(2.0, -(case when is_contradicted or is_uncorroborated then -30.0 else evidence_weight end)))
            as double precision) as match_probability,
        is_contradicted,
        is_uncorroborated,
        case rule_rank
            when 0 then 'random_sample'
            {%- for rule in rules %}
            when {{ loop.index }} then '{{ rule['name'] }}'
            {%- endfor %}
        end as matched_by
        {%- for comparison in comparisons %},
        cast(gamma_{{ comparison['name'] }} as integer) as gamma_{{ comparison['name'] }}
        {%- endfor %}
    from cm_weighed
)

select * from cm_final
{% endmacro %}

{#- Standardisation failures per comparison: values present that do not parse as the comparison's
    type (a date that is no date, a number that is none). One row per comparison. -#}
{% macro configured_match_standardisation(records, config) %}
    {%- for comparison in config['comparisons'] %}
select
    '{{ comparison['name'] }}' as comparison,
    '{{ comparison['column'] }}' as source_column,
    '{{ comparison['type'] }}' as comparison_type,
    count({{ cm_text(comparison['column']) }}) as present_values,
    {%- if comparison['type'] == 'date_parts' %}
    count(case when {{ cm_text(comparison['column']) }} is not null
        and {{ cm_parse_date(cm_text(comparison['column'])) }} is null then 1 end) as failed_values
    {%- elif comparison['type'] == 'numeric' %}
    count(case when {{ cm_text(comparison['column']) }} is not null
        and {{ cm_parse_number(cm_text(comparison['column'])) }} is null then 1 end) as failed_values
    {%- elif comparison['type'] == 'email_local' %}
    count(case when position('@' in {{ cm_text(comparison['column']) }}) = 0 then 1 end) as failed_values
    {%- else %}
    0 as failed_values
    {%- endif %}
from {{ records }}
{{ 'union all' if not loop.last }}
    {%- endfor %}
{% endmacro %}

{#- `dbt run-operation configured_match_table --args '{source: main.records, target: main.pairs,
    config: {...}, groups: main.people}'`: (re)creates `target` (every compared pair, scored) and
    `target`_standardisation (failures per comparison), and logs the failures. With `groups`, also
    the grouped output: every record (node_key = its record id) with its group (component_key, the
    smallest record id of its group), pairs at or above `threshold` (default var
    identity_match_threshold, 0.95) joined by the pipeline's connected_components. -#}
{% macro configured_match_table(source, target, config, sample_records=none, groups=none, threshold=none) %}
    {%- call statement('cm_drop') -%}
        drop table if exists {{ target }}
    {%- endcall -%}
    {%- call statement('cm_create') -%}
        create table {{ target }} as
        select * from (
            {{ configured_match_pairs(source, config, sample_records=sample_records) }}
        ) as pairs
    {%- endcall -%}
    {%- call statement('cm_standardisation') -%}
        create or replace table {{ target }}_standardisation as
        {{ configured_match_standardisation(source, config) }}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {%- set counted = run_query('select count(*) from ' ~ target) -%}
    {%- do log('configured_match_table: ' ~ counted.columns[0].values()[0] ~ ' pairs in ' ~ target, info=true) -%}
    {%- if groups is not none -%}
        {%- set kept = threshold if threshold is not none else var('identity_match_threshold', 0.95) -%}
        {%- call statement('cm_edges') -%}
            create or replace table {{ target }}_edges as
            select record_id_l as node_a, record_id_r as node_b from {{ target }}
            where match_probability >= {{ kept }}
            union all
            -- a self edge keeps a record without matches as a group of its own
            select cast({{ config.get('record_id', 'record_id') }} as varchar), cast({{ config.get('record_id', 'record_id') }} as varchar)
            from {{ source }}
        {%- endcall -%}
        {%- do adapter.commit() -%}
        {%- do connected_components_table(target ~ '_edges', groups) -%}
    {%- endif -%}
    {%- set failures = run_query('select comparison, failed_values, present_values from ' ~ target
        ~ '_standardisation where failed_values > 0 order by comparison') -%}
    {%- for row in failures.rows -%}
        {%- do log('configured_match_table: ' ~ row[0] ~ ': ' ~ row[1] ~ ' of ' ~ row[2]
            ~ ' values failed standardisation', info=true) -%}
    {%- endfor -%}
{% endmacro %}
