{#- The similarity functions and name helpers of the matcher (macros/configured_match.sql).

    Portability: the similarity functions are isolated in the small dispatched macros below.
    DuckDB has jaro_winkler_similarity, levenshtein and damerau_levenshtein. On Postgres the
    on-run-start hook creates the same three in PL/pgSQL (macros/postgres_functions.sql), so both
    engines give the same levels. default__ (another engine) uses fuzzystrmatch's levenshtein
    (a transposition costs 2, and 1 - levenshtein / longer length for the similarity, which
    scores typos lower: re-estimate the seed there). DuckDB's levenshtein and jaro-winkler count UTF-8 bytes: a Chinese character is
    3 edits, which is why names and companies are compared with the similarity, not edit counts.
    Regular expressions stay in the subset RE2 and Postgres share (no \b, no lookaround; the
    Chinese range [一-龥] needs a UTF8 database). DuckDB and Postgres are exercised by the tests. -#}

{#- Jaro-Winkler similarity in [0, 1]; 1 = equal. -#}
{% macro string_similarity(a, b) -%}
    {{ return(adapter.dispatch('string_similarity')(a, b)) }}
{%- endmacro %}

{% macro default__string_similarity(a, b) -%}
    (1.0 - cast(levenshtein({{ a }}, {{ b }}) as {{ sql_type('double precision') }}) / nullif(greatest(length({{ a }}), length({{ b }})), 0))
{%- endmacro %}

{% macro duckdb__string_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{#- Postgres: DuckDB's own definition, created by the on-run-start hook (macros/postgres_functions.sql). -#}
{% macro postgres__string_similarity(a, b) -%}
    {{ target.schema }}.intent_jaro_winkler({{ a }}, {{ b }})
{%- endmacro %}

{#- Levenshtein distance: insertions, deletions, substitutions. -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro edit_distance(a, b) -%}
    {{ return(adapter.dispatch('edit_distance')(a, b)) }}
{%- endmacro %}

{% macro default__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro duckdb__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__edit_distance(a, b) -%}
    {{ target.schema }}.intent_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{#- Damerau-Levenshtein distance: a swap of two neighbouring characters is one edit. -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro edit_distance_with_swaps(a, b) -%}
    {{ return(adapter.dispatch('edit_distance_with_swaps')(a, b)) }}
{%- endmacro %}

{% macro default__edit_distance_with_swaps(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro duckdb__edit_distance_with_swaps(a, b) -%}
    damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro postgres__edit_distance_with_swaps(a, b) -%}
    {{ target.schema }}.intent_damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}


{#- The matcher's call of a similarity function (`function`: string_similarity or
    edit_distance_with_swaps) on the expressions `a`, `b`. `similarities` none: the call itself,
    inline. Otherwise (configured_match_pairs on an engine where cm_similarities_once() holds) the
    call is recorded in `similarities` (one entry per distinct function and arguments) and this
    renders the name of the column that configured_match_pairs fills with its value, computed once
    per distinct pair of values rather than once per pair of records and comparison level. -#}
{% macro cm_similarity(function, a, b, similarities=none) -%}
    {%- if similarities is none -%}
        {{ string_similarity(a, b) if function == 'string_similarity' else edit_distance_with_swaps(a, b) }}
    {%- else -%}
        {%- set key = function ~ '(' ~ a ~ ', ' ~ b ~ ')' -%}
        {%- if key not in similarities['columns'] -%}
            {%- do similarities['columns'].update({key: 'cm_sim_' ~ (similarities['calls'] | length + 1)}) -%}
            {%- do similarities['calls'].append({'column': similarities['columns'][key], 'function': function, 'a': a, 'b': b}) -%}
        {%- endif -%}
        {{ similarities['columns'][key] }}
    {%- endif -%}
{%- endmacro %}

{#- Does configured_match_pairs compute each similarity once per distinct pair of values and join it
    back (true), or call the functions inline in the levels (false)? Spark: true; its functions are
    nests of higher-order functions (macros/spark_functions.sql) and inline, with a name's reading
    (a case expression) as argument and one call per threshold, the pairs' query did not build
    (docs/portability.md, "Spark"). DuckDB and Postgres: false (native or PL/pgSQL functions; their
    SQL is unchanged). -#}
{# adapter.dispatch's shape (one entry, a macro per engine): the finder pairs it with other dispatched functions, each its own rule #}
{% macro cm_similarities_once() -%}
    {{ return(adapter.dispatch('cm_similarities_once')()) }}
{%- endmacro %}

{% macro default__cm_similarities_once() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro spark__cm_similarities_once() -%}
    {{ return(true) }}
{%- endmacro %}


{#- Level of a name comparison (given name or surname), on the names in plain letters (Chinese
    names in pinyin) and, when both are written in Chinese characters, on the characters:
    3 equal (王伟 and 王伟, 王伟 and Wang Wei, Kevin and kevin);
    2 a typo (Jaro-Winkler >= 0.92, or Damerau-Levenshtein <= 1 with at least 4 letters), only
      when neither side is a Chinese name: in pinyin one letter makes another name (Zhang / Zhan,
      Wei / Wen) and Jaro-Winkler rates Zhang / Huang, Wang / Yang, Zhao / Zhou as similar;
    1 Jaro-Winkler >= 0.8 (not a Chinese name), an initial, or the same pinyin in other characters
      (王伟 and 王维: a homophone the input method offered, or two people);
    0 different (an English name and a Chinese one, Kevin and Wei, stay apart); -1 unknown. -#}
{% macro name_match_level(a, b, a_hz, b_hz, is_chinese_name, similarities=none) -%}
    case
        when {{ a }} is null and {{ a_hz }} is null or {{ b }} is null and {{ b_hz }} is null then -1
        when {{ a_hz }} is not null and {{ b_hz }} is not null then
            case
                when {{ a_hz }} = {{ b_hz }} then 3
                when {{ a }} = {{ b }} then 1
                else 0
            end
        when {{ a }} is null or {{ b }} is null then -1
        when {{ a }} = {{ b }} then 3
        when not {{ is_chinese_name }} and {{ cm_similarity('string_similarity', a, b, similarities) }} >= 0.92 then 2
        when not {{ is_chinese_name }} and least(length({{ a }}), length({{ b }})) >= 4
            and {{ cm_similarity('edit_distance_with_swaps', a, b, similarities) }} <= 1 then 2
        when not {{ is_chinese_name }} and {{ cm_similarity('string_similarity', a, b, similarities) }} >= 0.8 then 1
        when (length({{ a }}) = 1 or length({{ b }}) = 1) and left({{ a }}, 1) = left({{ b }}, 1) then 1
        else 0
    end
{%- endmacro %}

{#- A name part in plain lower-case letters a-z (ü as v, as pinyin is typed): spaces, hyphens,
    apostrophes and other scripts dropped ("Xiao-Ming" -> xiaoming). -#}
{% macro latin_letters(value) -%}
    {{ regex_replace_all("replace(lower(" ~ value ~ "), 'ü', 'v')", "'[^a-z]'", "''") }}
{%- endmacro %}

{#- Two-character Chinese surnames (the rest have one character). -#}
{% macro compound_chinese_surnames() -%}
    {{ return(['欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '令狐', '慕容', '尉迟', '夏侯', '长孙', '宇文', '公孙', '司徒', '端木']) }}
{%- endmacro %}

