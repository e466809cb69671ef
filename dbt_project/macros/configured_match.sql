{#- The matcher: Fellegi-Sunter record linkage with the comparisons, levels, weights, vetoes,
    corroboration and blocking rules given as data (issue 12). One macro path for every caller: the
    pipeline's identity step (int_identity_match_pairs, configuration: macro identity_match_config,
    docs/identity.md "The matcher's configuration"), `dbt run-operation identity_match_table` (the
    same on any table with the pipeline's record columns) and `dbt run-operation
    configured_match_table` (any table, any configuration: FEBRL, a customer file).

    1. Standardise each record per comparison (`standardise`, or the type's own: names to pinyin,
       email to its canonical mailbox); a value that does not standardise is counted
       (configured_match_standardisation), never silently dropped.
    2. Block: only records that share a blocking key are compared (near-linear instead of n^2). A
       pair found by several rules is compared once; matched_by names the first rule that found it.
    3. Compare: each comparison puts the pair on a level (gamma; -1 when either side is null).
    4. Weigh: match_weight = log2(prior odds) + sum of log2(m/u) of the levels (m/u inline in the
       configuration, or from a seed: parameters_seed), plus a term-frequency adjustment at the
       exact level for comparisons with tf_adjust (Splink's: the evidence of two records sharing a
       common value is smaller than of sharing a rare one); match_probability = 2^w / (1 + 2^w).
       The prior: matches_per_record (inline or prior_seed) over the records a record can pair with.
    5. Contradict: a comparison at or below `contradicts_at_or_below` vetoes the pair (-30).
    6. Corroborate: when `corroboration` is given, a pair is a match only when one of its
       comparisons is at or above its level (else is_uncorroborated, -30).

    config (a mapping):
      record_id        column holding the record's id (default record_id)
      link_only        true: two sources, pairs only across them (source_column tells which)
      source_column    default source_dataset
      max_block_size   a blocking key shared by more records finds no pairs (default 50)
      matches_per_record  other records of the same person per record (the prior); link-only:
                       matches per record of the other source (default 1)
      prior_seed       a seed with (setting, value) holding matches_per_record instead
      parameters_seed  a seed with (comparison, level, m_probability, u_probability): the m/u of
                       the comparisons that have no inline m/u
      comparisons      list of {name, column, type, thresholds, m, u, contradicts_at_or_below,
                       standardise, tf_adjust, ...}; types and their levels in docs/identity.md
      veto_overrides   list of {name, lifts: [comparisons], when: [{comparison, at_least}]}: the
                       vetoes of `lifts` do not apply to a pair whose `when` comparisons all are at
                       or above their levels (e.g. the national id equal and both names agree lifts
                       a date of birth two edits off); absent or empty: every veto applies
      corroboration    list of {comparison, at_least}
      blocking_rules   list of {name, keys: [SQL expressions]}; the expressions see the input
                       columns and every comparison's standardised value v_<name> (email also
                       v_<name>_local, v_<name>_company_domain); a null key is no key -#}

{% macro cm_text(value) -%}
    nullif(trim(lower(cast({{ value }} as {{ sql_type('varchar') }}))), '')
{%- endmacro %}

{% macro cm_digits(value) -%}
    nullif({{ regex_replace_all("cast(" ~ value ~ " as " ~ sql_type('varchar') ~ ")", "'[^0-9]'", "''") }}, '')
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
    cast(try_strptime(trim(cast({{ value }} as {{ sql_type('varchar') }})), ['%Y%m%d', '%Y-%m-%d', '%Y/%m/%d', '%d/%m/%Y']) as date)
{%- endmacro %}

{#- Spark: DuckDB's try_strptime with that list of formats, format by format (the first that reads
    wins): each field takes as many digits as it may (%Y up to 4, %m and %d up to 2) and never gives
    one back (possessive quantifiers), as DuckDB's parser does ('2024111' is 1 November, '202411'
    nothing); make_date is null for a day that does not exist. Not emulated: DuckDB reads the words
    'infinity', '-infinity' and 'epoch' as 1900-01-01, Spark gives null (docs/portability.md). -#}
{% macro spark__cm_parse_date(value) -%}
    transform(array(trim(cast({{ value }} as string))), v -> coalesce(
        {%- for pattern, order in [('^([0-9]{1,4}+)([0-9]{1,2}+)([0-9]{1,2}+)$', (1, 2, 3)),
                                   ('^([0-9]{1,4}+)-([0-9]{1,2}+)-([0-9]{1,2}+)$', (1, 2, 3)),
                                   ('^([0-9]{1,4}+)/([0-9]{1,2}+)/([0-9]{1,2}+)$', (1, 2, 3)),
                                   ('^([0-9]{1,2}+)/([0-9]{1,2}+)/([0-9]{1,4}+)$', (3, 2, 1))] %}
        case when v rlike '{{ pattern }}' then make_date(
            {%- for group in order %}cast(regexp_extract(v, '{{ pattern }}', {{ group }}) as int){{ ', ' if not loop.last }}{% endfor -%}
        ) end{{ ',' if not loop.last }}
        {%- endfor %}
    ))[0]
{%- endmacro %}

{% macro cm_parse_number(value) -%}
    {{ return(adapter.dispatch('cm_parse_number')(value)) }}
{%- endmacro %}

{% macro default__cm_parse_number(value) -%}
    case when trim(cast({{ value }} as {{ sql_type('varchar') }})) similar to '-?[0-9]+([.][0-9]+)?'
        then cast(trim(cast({{ value }} as {{ sql_type('varchar') }})) as {{ sql_type('double precision') }}) end
{%- endmacro %}

{% macro duckdb__cm_parse_number(value) -%}
    try_cast(trim(cast({{ value }} as {{ sql_type('varchar') }})) as {{ sql_type('double precision') }})
{%- endmacro %}

{#- Spark: what DuckDB's cast to double reads (a sign, digits with single underscores between them,
    a decimal point, an exponent; inf, infinity, nan in any case), cast; null otherwise (Spark's cast
    alone also takes '1d' and rejects '1_000', '+nan' and '-nan'). -#}
{% macro spark__cm_parse_number(value) -%}
    transform(array(trim(cast({{ value }} as string))), v ->
        case when v rlike '^[+-]?([0-9]+(_[0-9]+)*([.]([0-9]+(_[0-9]+)*)?)?|[.][0-9]+(_[0-9]+)*)([eE][+-]?[0-9]+(_[0-9]+)*)?$'
                or v rlike '^(?i)[+-]?(inf|infinity|nan)$'
            then cast(regexp_replace(replace(v, '_', ''), '^([+]|-(?=[nN][aA][nN]$))', '') as double) end)[0]
{%- endmacro %}

{#- Days from date `earlier` to date `later` (an integer; negative when later is earlier). -#}
{% macro cm_days_apart(earlier, later) -%}
    {{ return(adapter.dispatch('cm_days_apart')(earlier, later)) }}
{%- endmacro %}

{% macro default__cm_days_apart(earlier, later) -%}
    ({{ later }} - {{ earlier }})
{%- endmacro %}

{#- Spark: date - date is an interval there. -#}
{% macro spark__cm_days_apart(earlier, later) -%}
    datediff({{ later }}, {{ earlier }})
{%- endmacro %}

{#- An organisation's name as a key: punctuation to spaces, legal and generic suffixes stripped
    (Ltd, Inc, 有限公司, 科技, ...), then spaces dropped. -#}
{% macro cm_organisation_key(value) -%}
    nullif(
        replace(
            regexp_replace(
                regexp_replace(
                    trim({{ regex_replace_all(value, "'[^a-z0-9一-龥]+'", "' '") }}),
                    '( (co|company|corp|corporation|inc|incorporated|ltd|limited|llc|llp|plc|gmbh|ag|sa|bv|pte|pty|group|holdings|technology|technologies|tech))+$',
                    ''
                ),
                '(股份有限公司|有限责任公司|有限公司|集团|公司|科技)+$',
                ''
            ),
            ' ',
            ''
        ),
        ''
    )
{%- endmacro %}

{% macro cm_thresholds(comparison) -%}
    {%- set defaults = {'damerau_levenshtein': [1, 2], 'jaro_winkler': [0.92, 0.8], 'numeric': []} -%}
    {%- set thresholds = comparison.get('thresholds') -%}
    {{ return(thresholds if thresholds is not none else defaults.get(comparison['type'], [])) }}
{%- endmacro %}

{#- The highest level of a comparison (its number of levels - 1). -#}
{% macro cm_top_level(comparison) -%}
    {%- set kind = comparison['type'] -%}
    {%- if kind == 'exact' -%}{{ return(1) }}
    {%- elif kind in ('damerau_levenshtein', 'jaro_winkler', 'numeric') -%}
        {{ return(cm_thresholds(comparison) | length + 1) }}
    {%- elif kind in ('date_parts', 'pinyin_name', 'person_name', 'email') -%}{{ return(3) }}
    {%- elif kind == 'email_local' -%}{{ return(2) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("configured_match: comparison " ~ comparison['name'] ~ " has type '" ~ kind
            ~ "'; built: exact, damerau_levenshtein, jaro_winkler, date_parts, numeric, email_local, email, pinyin_name, person_name") }}
    {%- endif -%}
{%- endmacro %}

{#- Pinyin of the characters `first`..`last` of a name in Chinese characters (the first character
    read as a surname), from the seed identity_match_pinyin; null when a character is not in it. -#}
{% macro cm_hanzi_pinyin(hz, first, last) -%}
    {{ return(adapter.dispatch('cm_hanzi_pinyin')(hz, first, last)) }}
{%- endmacro %}

{% macro default__cm_hanzi_pinyin(hz, first, last) -%}
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

{#- Spark: the same, without a correlated subquery over generate_series (Spark has no correlated
    table function): the seed as one map, character -> (pinyin, surname pinyin), read by an
    uncorrelated scalar subquery (computed once per query), and the positions as an array. -#}
{% macro spark__cm_hanzi_pinyin(hz, first, last) -%}
    transform(array(named_struct(
        'hz', {{ hz }},
        'positions', filter(sequence(1, greatest(coalesce(length({{ hz }}), 0), 1)),
            p -> p <= length({{ hz }}) and p between {{ first }} and {{ last }}),
        'seed', (select map_from_entries(collect_list(struct(pinyin_seed.character, named_struct(
                    'pinyin', pinyin_seed.pinyin, 'surname', pinyin_seed.surname_pinyin))))
                 from {{ ref('identity_match_pinyin') }} as pinyin_seed))), x ->
        case when size(x.positions) > 0 and forall(x.positions, p -> x.seed[substr(x.hz, p, 1)].pinyin is not null)
            then array_join(transform(x.positions, p -> case when p = 1
                then coalesce(nullif(x.seed[substr(x.hz, p, 1)].surname, ''), x.seed[substr(x.hz, p, 1)].pinyin)
                else x.seed[substr(x.hz, p, 1)].pinyin end), '')
        end)[0]
{%- endmacro %}

{#- A full name (pinyin_name): written form, its syllables in written order, and turned round. -#}
{% macro cm_pinyin_name(column, name) -%}
    {%- set written = "nullif(trim(" ~ regex_replace_all("lower(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ "))", "'[\\s.,·_-]+'", "' '") ~ "), '')" -%}
    {%- set is_hanzi = regex_replace_all(written, "'[一-龥 ]'", "''") ~ " = ''" -%}
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

{#- The person-name standardisation of a person_name comparison (CTEs, each followed by a comma):
    every name as (given, surname) in plain letters, Chinese names in pinyin (seed
    identity_match_pinyin), with the characters kept and is_chinese_name; cm_pn_names has one row per
    record. `columns`: the input's given name, surname and full name columns (any may be absent: none). -#}
{% macro cm_person_name_ctes(records, record_id, columns) -%}
cm_pn_input as (
    select
        cast({{ record_id }} as {{ sql_type('varchar') }}) as record_id,
        {%- for part, column in [('first_name', columns[0]), ('last_name', columns[1]), ('full_name', columns[2])] %}
        {% if column %}nullif(trim({{ regex_replace_all("lower(" ~ column ~ ")", "'[\\s.,]+'", "' '") }}), ''){% else %}cast(null as {{ sql_type('varchar') }}){% endif %} as {{ part }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ records }}
),

cm_pn_pinyin as (
    select * from {{ ref('identity_match_pinyin') }}
),

cm_pn_surname_pinyin as (
    -- the common Chinese surnames in pinyin: a romanised name starting with one is written surname first
    select distinct surname_pinyin from cm_pn_pinyin where surname_pinyin is not null
),

cm_pn_name_input as (
    -- A name in Chinese characters (no other letter in it) is split into surname and given name:
    -- the given fields, else the full name's first character, or two for a compound surname (欧阳).
    select
        record_id,
        first_name,
        last_name,
        full_name,
        case
            when first_name is null and last_name is null
                and {{ regex_replace_all('full_name', "'[一-龥 ]'", "''") }} = ''
                then replace(full_name, ' ', '')
        end as full_hz,
        case
            when first_name is not null and last_name is not null
                and {{ regex_replace_all('first_name || last_name', "'[一-龥]'", "''") }} = ''
                then last_name
        end as fields_surname_hz
    from cm_pn_input
),

cm_pn_name_hz as (
    select
        record_id,
        first_name,
        last_name,
        full_name,
        {{ cm_pn_hz_part('surname') }} as surname_hz,
        {{ cm_pn_hz_part('given') }} as given_hz
    from cm_pn_name_input
),

cm_pn_name_chars as (
    -- one row per character of a Chinese name part, with its pinyin (as a surname for the surname)
    select
        parts.record_id,
        parts.part,
        positions.pos,
        case when parts.part = 'surname' then coalesce(cm_pn_pinyin.surname_pinyin, cm_pn_pinyin.pinyin) else cm_pn_pinyin.pinyin end
            as syllable
    from (
        select record_id, 'surname' as part, surname_hz as hz from cm_pn_name_hz where surname_hz is not null
        union all
        select record_id, 'given' as part, given_hz as hz from cm_pn_name_hz where given_hz is not null
    ) as parts
    inner join (values (1), (2), (3), (4), (5), (6)) as positions (pos)
        on positions.pos <= length(parts.hz)
    left join cm_pn_pinyin
        on cm_pn_pinyin.character = substr(parts.hz, positions.pos, 1)
),

cm_pn_name_syllables as (
    -- a part with a character the seed does not know has no pinyin (it is compared in characters only)
    select
        record_id,
        part,
        case when count(syllable) = count(*) then {{ dbt.listagg('syllable', "''", 'order by pos') }} end as syllables
    from cm_pn_name_chars
    group by record_id, part
),

cm_pn_name_words as (
    -- a romanised full name: its first and last word and the words between
    select
        cm_pn_name_hz.*,
        case
            when surname_hz is null and first_name is null and last_name is null
                and {{ regex_replace_all('full_name', "'[一-龥 ]'", "''") }} <> ''
                then full_name
        end as latin_full,
        case
            when surname_hz is null and first_name is null and last_name is null and position(' ' in full_name) > 0
                then regexp_replace(full_name, ' .*$', '')
        end as first_word,
        case
            when surname_hz is null and first_name is null and last_name is null and position(' ' in full_name) > 0
                then regexp_replace(full_name, '^.* ', '')
        end as last_word
    from cm_pn_name_hz
),

cm_pn_names as (
    -- Every name as (given, surname) in plain letters a-z (ü as v), Chinese names in pinyin, so that
    -- 王伟, Wang Wei, Wei Wang and WANG Wei compare equal. A romanised name is read surname first
    -- when its first word is a Chinese surname in pinyin (Wang Xiao Ming), else given name first
    -- (Kevin Wang); two-word names the other way round are aligned pair by pair.
    select
        cm_pn_name_words.record_id,
        cm_pn_name_words.surname_hz,
        cm_pn_name_words.given_hz,
        {{ cm_pn_key('given') }} as given_key,
        {{ cm_pn_key('surname') }} as surname_key,
        -- The other reading of a romanised name (the fields turned round; surname last instead of
        -- first, or first instead of last): when both words of "Wang Wei" are pinyin surnames (魏 wei)
        -- the name is read given name first, and only the other reading agrees with 王伟. The pair's
        -- comparison takes the reading under which more parts agree exactly (cm_level).
        {{ cm_pn_key('given', other=true) }} as alt_given_key,
        {{ cm_pn_key('surname', other=true) }} as alt_surname_key,
        -- romanised Chinese: one letter apart is another name (Zhang / Zhan, Wei / Wen), not a typo
        cm_pn_name_words.surname_hz is not null
        or first_surname.surname_pinyin is not null
        or last_surname.surname_pinyin is not null
        or latin_surname.surname_pinyin is not null as is_chinese_name
    from cm_pn_name_words
    left join cm_pn_name_syllables as given_syllables
        on given_syllables.record_id = cm_pn_name_words.record_id and given_syllables.part = 'given'
    left join cm_pn_name_syllables as surname_syllables
        on surname_syllables.record_id = cm_pn_name_words.record_id and surname_syllables.part = 'surname'
    left join cm_pn_surname_pinyin as first_surname
        on first_surname.surname_pinyin = {{ latin_letters('cm_pn_name_words.first_word') }}
    left join cm_pn_surname_pinyin as last_surname
        on last_surname.surname_pinyin = {{ latin_letters('cm_pn_name_words.last_word') }}
    left join cm_pn_surname_pinyin as latin_surname
        on latin_surname.surname_pinyin = {{ latin_letters('cm_pn_name_words.last_name') }}
),
{%- endmacro %}
{#- A pair of records (`pairs`: a relation with record_id_l and record_id_r) joined to its two rows
    of cm_input, as l and r: the names every comparison level's expression reads. -#}
{% macro cm_pair_records(pairs) -%}
    inner join cm_input as l
        on l.cm_id = {{ pairs }}.record_id_l
    inner join cm_input as r
        on r.cm_id = {{ pairs }}.record_id_r
{%- endmacro %}

{#- A name in Chinese characters split into its surname and given name (`part`) in cm_pn_name_hz:
    the fields' own when both are given, else a full name of 2 to 6 characters, whose surname is its
    first two characters when they are a compound surname (and more follow), else its first. One
    home for the split, so the two parts always cut the name at the same place. -#}
{% macro cm_pn_hz_part(part) -%}
    {%- set surname = part == 'surname' -%}
    case
        when fields_surname_hz is not null then {{ 'fields_surname_hz' if surname else 'first_name' }}
        when length(full_hz) between 2 and 6 then
            case
                when left(full_hz, 2) in ({{ "'" ~ compound_chinese_surnames() | join("', '") ~ "'" }})
                    and length(full_hz) > 2 then {{ 'left(full_hz, 2)' if surname else 'substr(full_hz, 3)' }}
                else {{ 'left(full_hz, 1)' if surname else 'substr(full_hz, 2)' }}
            end
    end
{%- endmacro %}

{#- A name's key in cm_pn_names (`part`: given or surname; `other`: the other reading, the alt_
    keys). Characters: their syllables' pinyin (no other reading). Given name and surname fields:
    the field (the other reading: the fields turned round, when that field is there). A full name of
    one word: the given name (no surname; no other reading). A romanised full name of several words:
    read surname first when its first word is a pinyin surname and its last word is not, else
    surname last; the other reading takes the other order. One home for these rules and for where
    each part stands in the words (first word, the rest; last word, the rest). -#}
{% macro cm_pn_key(part, other=false) -%}
    {%- set words = 'cm_pn_name_words' -%}
    {%- set after_first_word = latin_letters("substr(" ~ words ~ ".latin_full, length(" ~ words ~ ".first_word) + 2)") -%}
    {%- set before_last_word = latin_letters("left(" ~ words ~ ".latin_full, length(" ~ words ~ ".latin_full) - length(" ~ words ~ ".last_word) - 1)") -%}
    {%- set surname_first = {'given': after_first_word, 'surname': latin_letters(words ~ '.first_word')} -%}
    {%- set surname_last = {'given': before_last_word, 'surname': latin_letters(words ~ '.last_word')} -%}
    {%- set field = {'given': 'first_name', 'surname': 'last_name'} -%}
    {%- set other_part = {'given': 'surname', 'surname': 'given'} -%}
    case
        when {{ words }}.surname_hz is not null then {{ 'null' if other else part ~ '_syllables.syllables' }}
        when {{ words }}.latin_full is null
            then {% if other %}case when {{ words }}.{{ field[part] }} is not null then {{ latin_letters(words ~ '.' ~ field[other_part[part]]) }} end{% else %}{{ latin_letters(words ~ '.' ~ field[part]) }}{% endif %}
        when {{ words }}.first_word is null then {{ latin_letters(words ~ '.latin_full') if part == 'given' and not other else 'null' }}
        when first_surname.surname_pinyin is not null and last_surname.surname_pinyin is null
            then {{ (surname_last if other else surname_first)[part] }}
        else {{ (surname_first if other else surname_last)[part] }}
    end
{%- endmacro %}

{#- The person_name comparisons' input columns [given name, surname, full name] (one set per
    configuration), or none. -#}
{% macro cm_person_name_columns(comparisons) -%}
    {%- set found = [] -%}
    {%- for comparison in comparisons if comparison['type'] == 'person_name' -%}
        {%- set columns = comparison.get('columns') or [none, none, comparison.get('column')] -%}
        {%- if found and found[0] != columns -%}
            {{ exceptions.raise_compiler_error("configured_match: every person_name comparison must read the same columns") }}
        {%- endif -%}
        {%- do found.append(columns) -%}
    {%- endfor -%}
    {{ return(found[0] if found else none) }}
{%- endmacro %}

{#- A text value as the comparison's `standardise` option makes it (before blocklist and parsing). -#}
{% macro cm_blocked(comparison, value) -%}
    {%- if comparison.get('blocklist') -%}{{ is_blocked_identifier(comparison['blocklist'], value) }}{%- else -%}false{%- endif -%}
{%- endmacro %}

{#- Stage 1: the comparison's standardised value(s) as select-list items for one record (src: the
    input row, pn: its person name). -#}
{% macro cm_standardised(comparison) -%}
    {%- set name = comparison['name'] -%}
    {%- set column = 'src.' ~ comparison.get('column', name) -%}
    {%- set kind = comparison['type'] -%}
    {%- set standardise = comparison.get('standardise', 'text') -%}
    {%- if kind == 'pinyin_name' -%}
    {{ cm_pinyin_name(column, name) }}
    {%- elif kind == 'person_name' -%}
        {%- set parts = ['given', 'surname'] if comparison.get('part', 'given') == 'given' else ['surname', 'given'] %}
    nullif(pn.{{ parts[0] }}_key, '') as v_{{ name }},
    nullif(pn.{{ parts[1] }}_key, '') as o_{{ name }},
    nullif(pn.alt_{{ parts[0] }}_key, '') as a_{{ name }},
    nullif(pn.alt_{{ parts[1] }}_key, '') as b_{{ name }},
    pn.{{ parts[0] }}_hz as d_{{ name }},
    coalesce(pn.is_chinese_name, false) as c_{{ name }}
    {%- elif kind == 'email' -%}
        {%- set raw = "nullif(replace(lower(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ ")), ' ', ''), '')" %}
    case when not {{ cm_blocked(comparison, raw) }} then {{ canonical_email(raw) if comparison.get('canonical', true) else raw }} end as v_{{ name }},
    case when not {{ cm_blocked(comparison, raw) }} then {{ raw }} end as t_{{ name }}
    {%- elif standardise == 'phone' -%}
        {%- set raw = "nullif(trim(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ ")), '')" -%}
        {%- set digits = regex_replace_all(raw, "'[^0-9]'", "''") %}
    case
        when not {{ cm_blocked(comparison, raw) }} and length({{ digits }}) >= {{ comparison.get('digits', 8) }}
            then right({{ digits }}, {{ comparison.get('digits', 8) }})
    end as v_{{ name }},
    cast(null as {{ sql_type('varchar') }}) as d_{{ name }},
    cast(null as {{ sql_type('varchar') }}) as x_{{ name }}
    {%- else -%}
        {%- if standardise == 'organisation' -%}
            {%- set value = cm_organisation_key(cm_text(column)) -%}
        {%- elif standardise == 'place' -%}
            {%- set value = "nullif(trim(regexp_replace(lower(cast(" ~ column ~ " as " ~ sql_type('varchar') ~ ")), '市$', '')), '')" -%}
        {%- elif standardise == 'text' -%}
            {%- set value = cm_text(column) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("configured_match: comparison " ~ name ~ " has standardise '" ~ standardise
                ~ "'; built: text, place, organisation, phone") }}
        {%- endif %}
    {%- if comparison.get('blocklist') %}
    -- a placeholder the blocklist names (a national id `N/A`, `123456789`) is no value: no evidence either way
    case when not {{ cm_blocked(comparison, value) }} then {{ value }} end as v_{{ name }},
    {%- else %}
    {{ value }} as v_{{ name }},
    {%- endif %}
    {%- if kind == 'date_parts' %}
    {{ cm_parse_date(cm_text(column)) }} as d_{{ name }},
    {{ cm_digits(column) }} as x_{{ name }}
    {%- elif kind == 'numeric' %}
    {{ cm_parse_number(cm_text(column)) }} as d_{{ name }},
    cast(null as {{ sql_type('varchar') }}) as x_{{ name }}
    {%- elif kind == 'email_local' %}
    case when position('@' in {{ value }}) > 0
        then split_part(replace({{ value }}, ' ', ''), '@', 1) end as d_{{ name }},
    case when position('@' in {{ value }}) > 0
        then split_part(replace({{ value }}, ' ', ''), '@', 2) end as x_{{ name }}
    {%- else %}
    cast(null as {{ sql_type('varchar') }}) as d_{{ name }},
    cast(null as {{ sql_type('varchar') }}) as x_{{ name }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Stage 2: values derived from stage 1 (the mailbox's parts, the company domain, the term
    frequency), as select-list items over cm_std (and the free-domain seed joined as cm_free_<name>). -#}
{% macro cm_derived(comparison) -%}
    {%- set name = comparison['name'] -%}
    {%- set items = [] -%}
    {%- if comparison['type'] == 'email' -%}
        {%- do items.append("case when cm_std.v_" ~ name ~ " like '%@%' then regexp_replace(cm_std.v_" ~ name ~ ", '@.*$', '') end as v_" ~ name ~ "_local") -%}
        {%- do items.append("case when cm_std.t_" ~ name ~ " like '%@%' then regexp_replace(cm_std.t_" ~ name ~ ", '@.*$', '') end as t_" ~ name ~ "_local") -%}
        {%- do items.append("case when cm_std.v_" ~ name ~ " like '%@%' then regexp_replace(cm_std.t_" ~ name ~ ", '^[^@]*@', '') end as v_" ~ name ~ "_domain") -%}
        {%- if comparison.get('free_domains_seed') -%}
            {%- do items.append("case when cm_std.v_" ~ name ~ " like '%@%' and cm_free_" ~ name ~ ".domain is null then regexp_replace(cm_std.v_" ~ name ~ ", '^[^@]*@', '') end as v_" ~ name ~ "_company_domain") -%}
        {%- else -%}
            {%- do items.append("cast(null as " ~ sql_type('varchar') ~ ") as v_" ~ name ~ "_company_domain") -%}
        {%- endif -%}
    {%- endif -%}
    {%- if comparison.get('tf_adjust') -%}
        {%- do items.append("case when cm_std.v_" ~ name ~ " is not null then cast(count(*) over (partition by cm_std.v_" ~ name
            ~ ") as " ~ sql_type('double precision') ~ ") / count(cm_std.v_" ~ name ~ ") over () end as tf_" ~ name) -%}
    {%- endif -%}
    {{ return(items) }}
{%- endmacro %}

{#- Is this comparison's level computed after the others' (it reads their levels)? -#}
{% macro cm_is_dependent(comparison) -%}
    {{ return(comparison['type'] == 'email' and (comparison.get('typo_counts_when') or []) | length > 0) }}
{%- endmacro %}

{#- How many of a name's two parts agree exactly (0, 1, 2) under one reading of each side. -#}
{% macro cm_parts_agreeing(a1, b1, a2, b2) -%}
    ((case when {{ a1 }} = {{ b1 }} then 1 else 0 end) + (case when {{ a2 }} = {{ b2 }} then 1 else 0 end))
{%- endmacro %}

{#- The level of one comparison for a pair (l., r. the two records' standardised values; the
    levels of independent comparisons as gamma_<name> for a dependent one). `similarities`: see
    cm_similarity (none: the similarity functions inline). -#}
{% macro cm_level(comparison, similarities=none) -%}
    {%- set name = comparison['name'] -%}
    {%- set kind = comparison['type'] -%}
    {%- set top = cm_top_level(comparison) -%}
    {%- set a = 'l.v_' ~ name -%}{%- set b = 'r.v_' ~ name -%}
    {%- if kind == 'person_name' -%}
        {#- a name written the other way round ("Wang Li" / "Li Wang", 王伟 / "Wang Wei" read given
            name first because wei is a surname too) is compared under the reading of either side
            (v, o as read; a, b the other reading) under which more of its parts agree exactly; names
            in characters have a known surname and have no other reading -#}
        {%- set as_read = cm_parts_agreeing('l.v_' ~ name, 'r.v_' ~ name, 'l.o_' ~ name, 'r.o_' ~ name) -%}
        {%- set right_turned = cm_parts_agreeing('l.v_' ~ name, 'r.a_' ~ name, 'l.o_' ~ name, 'r.b_' ~ name) -%}
        {%- set left_turned = cm_parts_agreeing('l.a_' ~ name, 'r.v_' ~ name, 'l.b_' ~ name, 'r.o_' ~ name) -%}
        {%- set left_value -%}
        (case when {{ left_turned }} > {{ as_read }} and {{ left_turned }} > {{ right_turned }} then l.a_{{ name }} else l.v_{{ name }} end)
        {%- endset -%}
        {%- set right_value -%}
        (case when {{ right_turned }} > {{ as_read }} and {{ right_turned }} >= {{ left_turned }} then r.a_{{ name }} else r.v_{{ name }} end)
        {%- endset %}
    {{ name_match_level(left_value, right_value, 'l.d_' ~ name, 'r.d_' ~ name, '(l.c_' ~ name ~ ' or r.c_' ~ name ~ ')', similarities) }}
    {%- else -%}
    case
        when {{ a }} is null or {{ b }} is null then -1
        when {{ a }} = {{ b }} then {{ top }}
    {%- if kind == 'damerau_levenshtein' %}
        {%- for t in cm_thresholds(comparison) %}
        when {{ cm_similarity('edit_distance_with_swaps', a, b, similarities) }} <= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
    {%- elif kind == 'jaro_winkler' %}
        {%- set thresholds = cm_thresholds(comparison) %}
        {%- for t in thresholds %}
        when {{ cm_similarity('string_similarity', a, b, similarities) }} >= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
        {%- if comparison.get('contains') %}
        -- one contains the other (a name with or without its district, a shortened company name)
        when length({{ a }}) >= 2 and length({{ b }}) >= 2 and (position({{ b }} in {{ a }}) > 0 or position({{ a }} in {{ b }}) > 0)
            then {{ top - thresholds | length }}
        {%- endif %}
    {%- elif kind == 'numeric' %}
        -- a value that is no number (counted by configured_match_standardisation): no evidence
        when l.d_{{ name }} is null or r.d_{{ name }} is null then -1
        when l.d_{{ name }} = r.d_{{ name }} then {{ top }}
        {%- for t in cm_thresholds(comparison) %}
        when abs(l.d_{{ name }} - r.d_{{ name }}) <= {{ t }} then {{ top - loop.index }}
        {%- endfor %}
    {%- elif kind == 'date_parts' %}
        {%- set da = 'l.d_' ~ name -%}{%- set db = 'r.d_' ~ name -%}
        {%- set digit_typo = comparison.get('digit_typo', 'non_dates') %}
        when {{ da }} = {{ db }} then 3
        {%- if digit_typo == 'any' %}
        -- one edit on the digits, whatever the layout (a swap across a dash is one edit)
        when {{ cm_similarity('edit_distance_with_swaps', 'l.x_' ~ name, 'r.x_' ~ name, similarities) }} <= 1 then 2
        {%- endif %}
        {%- if comparison.get('one_part_differs', true) %}
        -- exactly one of year, month, day differs: one difference, not two edits on the text
        when (case when extract(year from {{ da }}) = extract(year from {{ db }}) then 1 else 0 end)
            + (case when extract(month from {{ da }}) = extract(month from {{ db }}) then 1 else 0 end)
            + (case when extract(day from {{ da }}) = extract(day from {{ db }}) then 1 else 0 end) = 2 then 2
        {%- endif %}
        -- day and month swapped
        when extract(year from {{ da }}) = extract(year from {{ db }}) and extract(month from {{ da }}) = extract(day from {{ db }}) and extract(day from {{ da }}) = extract(month from {{ db }}) then 2
        {%- if digit_typo == 'non_dates' %}
        -- a value that is no date: one edit on its digits
        when ({{ da }} is null or {{ db }} is null) and l.x_{{ name }} is not null and r.x_{{ name }} is not null
            and {{ cm_similarity('edit_distance_with_swaps', 'l.x_' ~ name, 'r.x_' ~ name, similarities) }} <= 1 then 2
        {%- endif %}
        {%- if comparison.get('close_days') is not none %}
        when abs({{ cm_days_apart(da, db) }}) <= {{ comparison['close_days'] }} then 2
        {%- endif %}
        when abs({{ cm_days_apart(da, db) }}) <= {{ (comparison.get('thresholds') or [365])[0] }} then 1
    {%- elif kind == 'pinyin_name' %}
        -- the same syllables (王伟 / Wang Wei / wang-wei), then the same name turned round (Wei Wang);
        -- no typo level: in pinyin one letter makes another name (Zhang / Huang, Wang / Yang)
        when l.d_{{ name }} = r.d_{{ name }} then 2
        when l.d_{{ name }} = r.x_{{ name }} or l.x_{{ name }} = r.d_{{ name }} then 1
    {%- elif kind == 'email_local' %}
        when l.x_{{ name }} = r.x_{{ name }} and least(length(l.d_{{ name }}), length(r.d_{{ name }})) >= 4
            and {{ cm_similarity('edit_distance_with_swaps', 'l.d_' ~ name, 'r.d_' ~ name, similarities) }} <= 1 then 1
        when l.d_{{ name }} = r.d_{{ name }}
            and {{ cm_similarity('edit_distance_with_swaps', 'l.x_' ~ name, 'r.x_' ~ name, similarities) }} <= 1 then 1
    {%- elif kind == 'email' %}
        {%- set conditions = [] %}
        {%- for rule in comparison.get('typo_counts_when') or [] %}
            {%- do conditions.append('gamma_' ~ rule['comparison'] ~ ' in (' ~ rule['levels'] | join(', ') ~ ')') %}
        {%- endfor %}
        {%- set tl = 'l.t_' ~ name ~ '_local' -%}{%- set tr = 'r.t_' ~ name ~ '_local' -%}
        {%- set cl = 'l.v_' ~ name ~ '_local' -%}{%- set cr = 'r.v_' ~ name ~ '_local' -%}
        {%- set dl = 'l.v_' ~ name ~ '_domain' -%}{%- set dr = 'r.v_' ~ name ~ '_domain' %}
        -- no @ to split: the whole address
        when {{ dl }} is null or {{ dr }} is null
            then case when {{ cm_similarity('edit_distance_with_swaps', a, b, similarities) }} <= 1 then 2 else 1 end
        -- a typo: one edit in the mailbox as typed (dots included) or in the domain, or Gmail's
        -- dots on one side and one edit in the domain (taochen587@gmail.com, tao.chen587@gmial.com);
        -- never a number added or dropped (wangwei@, wangwei2@ are two mailboxes). It is evidence
        -- only when typo_counts_when holds (the names agree: colleagues Wu Gang and Xu Gang have
        -- wu.gang@ and xu.gang@); otherwise it is merely different (1), never a contradiction
        when least(length({{ tl }}), length({{ tr }})) >= 4
            and (
                (
                    {{ dl }} = {{ dr }}
                    and {{ cm_similarity('edit_distance_with_swaps', tl, tr, similarities) }} <= 1
                    and not (
                        regexp_replace({{ tl }}, '[0-9]+$', '') = regexp_replace({{ tr }}, '[0-9]+$', '')
                        and length({{ tl }}) <> length({{ tr }})
                    )
                )
                or (
                    {{ tl }} = {{ tr }}
                    and {{ cm_similarity('edit_distance_with_swaps', dl, dr, similarities) }} <= 1
                )
                or (
                    ({{ dl }} in ('gmail.com', 'googlemail.com') or {{ dr }} in ('gmail.com', 'googlemail.com'))
                    and replace(regexp_replace({{ tl }}, '[+].*$', ''), '.', '')
                        = replace(regexp_replace({{ tr }}, '[+].*$', ''), '.', '')
                    and {{ cm_similarity('edit_distance_with_swaps', dl, dr, similarities) }} <= 1
                )
                or (
                    {{ dl }} = 'gmail.com' and {{ dr }} = 'gmail.com'
                    and {{ cm_similarity('edit_distance_with_swaps', cl, cr, similarities) }} <= 1
                    and not (
                        regexp_replace({{ cl }}, '[0-9]+$', '') = regexp_replace({{ cr }}, '[0-9]+$', '')
                        and length({{ cl }}) <> length({{ cr }})
                    )
                )
            ) then {{ 'case when ' ~ conditions | join(' and ') ~ ' then 2 else 1 end' if conditions else '2' }}
        -- two different mailboxes at one company domain: two people (a contradiction)
        when l.v_{{ name }}_company_domain = r.v_{{ name }}_company_domain then 0
        -- different addresses elsewhere: people have a work and a private address
        when true then 1
    {%- endif %}
        else 0
    end
    {%- endif -%}
{%- endmacro %}

{#- Blocking keys of one record, one column per (rule, expression). -#}
{% macro cm_key_columns(rules) -%}
    {%- for rule in rules %}
        {%- set rule_index = loop.index %}
        {%- for key in rule['keys'] %}
    cast({{ key }} as {{ sql_type('varchar') }}) as k_{{ rule_index }}_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The weight (log2 m/u) of one comparison's level, plus its term-frequency adjustment at the top
    level: select-list expression over cm_gammas (the seed's row joined as w_<name>). -#}
{% macro cm_weight(comparison, parameters_seed) -%}
    {%- set name = comparison['name'] -%}
    {%- set top = cm_top_level(comparison) -%}
    {%- if comparison.get('m') is not none -%}
        case gamma_{{ name }}
            {%- for m in comparison['m'] %}
            when {{ loop.index0 }} then ln({{ m }} / {{ comparison['u'][loop.index0] }}) / ln(2)
            {%- endfor %}
            else 0
        end
        {%- set u_top = comparison['u'][top] -%}
    {%- elif parameters_seed -%}
        coalesce(w_{{ name }}.level_weight, 0)
        {%- set u_top = 'w_' ~ name ~ '.u_probability' -%}
    {%- else -%}
        0
        {%- set u_top = none -%}
    {%- endif -%}
    {%- if comparison.get('tf_adjust') and u_top is not none %}
        -- term frequency: an exact agreement on a common value is weaker evidence than on a rare one
        + case when gamma_{{ name }} = {{ top }} and tf_{{ name }} is not null then
            {{ comparison.get('tf_weight', 1.0) }} * ln({{ u_top }} / greatest(tf_{{ name }}, {{ comparison.get('tf_minimum', 0.000001) }})) / ln(2)
        else 0 end
    {%- endif -%}
{%- endmacro %}

{#- The standardised records (CTEs, each followed by a comma): the person-name CTEs when a
    comparison needs them, cm_std (each comparison's standardised value v_<name>) and cm_input (with
    the derived columns). -#}
{% macro cm_input_ctes(records, config) -%}
    {%- set comparisons = config['comparisons'] -%}
    {%- set link_only = config.get('link_only', false) -%}
    {%- set source_column = config.get('source_column', 'source_dataset') -%}
    {%- set record_id = config.get('record_id', 'record_id') -%}
    {%- set name_columns = cm_person_name_columns(comparisons) -%}
{% if name_columns is not none -%}
{{ cm_person_name_ctes(records, record_id, name_columns) }}
{%- endif %}

cm_std as (
    select
        src.*,
        cast(src.{{ record_id }} as {{ sql_type('varchar') }}) as cm_id,
        {% if link_only %}cast(src.{{ source_column }} as {{ sql_type('varchar') }}){% else %}cast(null as {{ sql_type('varchar') }}){% endif %} as cm_source,
        {%- for comparison in comparisons %}
        {{ cm_standardised(comparison) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ records }} as src
    {%- if name_columns is not none %}
    left join cm_pn_names as pn
        on pn.record_id = cast(src.{{ record_id }} as {{ sql_type('varchar') }})
    {%- endif %}
),

cm_input as (
    select
        cm_std.*
        {%- for comparison in comparisons %}
        {%- for item in cm_derived(comparison) %},
        {{ item }}
        {%- endfor %}
        {%- endfor %}
    from cm_std
    {%- for comparison in comparisons if comparison['type'] == 'email' and comparison.get('free_domains_seed') %}
    left join {{ ref(comparison['free_domains_seed']) }} as cm_free_{{ comparison['name'] }}
        on cm_free_{{ comparison['name'] }}.domain = regexp_replace(cm_std.v_{{ comparison['name'] }}, '^[^@]*@', '')
    {%- endfor %}
),
{%- endmacro %}

{#- Every record of `records` standardised under `config` (a query): the matcher's cm_input, one row
    per record (its columns, cm_id, cm_source, each comparison's standardised values), which
    configured_match_keys and configured_match_pairs take as `standardised`. -#}
{% macro configured_match_standardised(records, config) -%}
with

{{ cm_input_ctes(records, config) }}

cm_standardised as (
    select * from cm_input
)

select * from cm_standardised
{%- endmacro %}

{#- A pair's match_weight and match_probability from its `weight` (prior + evidence, in bits): a
    contradicted or uncorroborated pair is no match (-30), whatever its names and company say. -#}
{% macro cm_match_weight_and_probability(weight) -%}
cast(case when is_contradicted or is_uncorroborated then -30.0 else {{ weight }} end
            as {{ sql_type('double precision') }}) as match_weight,
        cast(1.0 / (1.0 + power(2.0, -(case when is_contradicted or is_uncorroborated then -30.0 else {{ weight }} end)))
            as {{ sql_type('double precision') }}) as match_probability
{%- endmacro %}

{#- The `cm_input` CTE of `records` standardised under `config` (cm_input_ctes), or, when
    `standardised` names a relation of records standardised before (configured_match_standardised),
    that relation. -#}
{% macro cm_input_from(records, config, standardised) -%}
{% if standardised is none -%}
{{ cm_input_ctes(records, config) }}
{%- else -%}
cm_input as (
    -- the records standardised before (configured_match_standardised)
    select * from {{ standardised }}
),
{%- endif %}
{%- endmacro %}

{#- The blocking keys of every record of `records` under `config` (a query): cm_id, cm_source,
    rule_rank, block_key, as configured_match_pairs blocks them (its `keys` argument takes them). -#}
{% macro configured_match_keys(records, config, standardised=none) -%}
with

{{ cm_input_from(records, config, standardised) }}

{{ cm_key_ctes(config.get('blocking_rules') or []) }}

cm_distinct_keys as (
    select distinct cm_id, cm_source, rule_rank, block_key from cm_keys
)

select * from cm_distinct_keys
{%- endmacro %}

{#- The prior as a weight (prior_weight, a query of one row): P(two random candidate records are one
    person) = matches per record over the records a record can be paired with (the other source's,
    link-only), counted in `records` (a relation or CTE with cm_source). -#}
{% macro cm_prior_weight(config, records) -%}
    select ln(prior / (1 - prior)) / ln(2) as prior_weight
    from (
        select
            least(
                {%- if config.get('prior_seed') %}
                (
                    select cast(settings.value as {{ sql_type('double precision') }}) from {{ ref(config['prior_seed']) }} as settings
                    where settings.setting = 'matches_per_record'
                )
                {%- else %}
                {{ config.get('matches_per_record', 1) }}
                {%- endif %}
                / greatest(max(n) - {{ 0 if config.get('link_only', false) else 1 }}, 1),
                0.5
            ) as prior
        from (select count(*) as n from {{ records }} group by cm_source) as counted
    ) as prior_probability
{%- endmacro %}

{#- Candidate pairs of `records` under `config`, scored: record_id_l, record_id_r (record_id_l <
    record_id_r), match_weight, match_probability, is_contradicted, is_uncorroborated, matched_by
    and one gamma_<name> per comparison. Not filtered: callers keep their threshold.
    sample_records: every pair among that many random records instead of blocking (for u). -#}
{% macro configured_match_pairs(records, config, sample_records=none, keys=none, compared_ids=none, evidence_only=false, standardised=none) %}
    {%- set comparisons = config['comparisons'] -%}
    {%- set rules = config.get('blocking_rules') or [] -%}
    {%- set link_only = config.get('link_only', false) -%}
    {%- set source_column = config.get('source_column', 'source_dataset') -%}
    {%- set max_block_size = config.get('max_block_size', 50) -%}
    {%- set corroboration = config.get('corroboration') or [] -%}
    {%- set parameters_seed = config.get('parameters_seed') -%}
    {%- set record_id = config.get('record_id', 'record_id') -%}
    {%- set name_columns = cm_person_name_columns(comparisons) -%}
    {%- set independent = [] -%}{%- set dependent = [] -%}
    {%- for comparison in comparisons -%}
        {%- do (dependent if cm_is_dependent(comparison) else independent).append(comparison) -%}
    {%- endfor -%}
    {%- if not rules and sample_records is none -%}
        {{ exceptions.raise_compiler_error("configured_match: no blocking_rules (every pair of a big table is too many)") }}
    {%- endif -%}
    {#- the levels rendered first: on an engine where cm_similarities_once() holds they record their
        similarity calls, computed below once per distinct pair of values (cm_similarity) -#}
    {%- set similarities = {'calls': [], 'columns': {}} if cm_similarities_once() else none -%}
    {%- set levels = {} -%}
    {%- for comparison in comparisons -%}
        {%- do levels.update({comparison['name']: cm_level(comparison, similarities)}) -%}
    {%- endfor -%}
    {%- set once = similarities is not none and similarities['calls'] | length > 0 -%}
with

{{ cm_input_from(records, config, standardised) }}

{% if sample_records is none %}
{%- if keys is none %}
{{ cm_key_ctes(rules) }}
{%- else %}
cm_keys as (
    -- the blocking keys of every record, computed before (configured_match_keys): `records` may hold
    -- only the records the pairs to compare need, the block sizes count every record
    select cm_id, cm_source, rule_rank, block_key from {{ keys }}
),
{%- endif %}

cm_sized_keys as (
    select
        cm_id,
        cm_source,
        rule_rank,
        block_key,
        count(*) over (partition by rule_rank, block_key) as block_size
    from cm_keys
),

cm_candidates as (
    -- a pair found by several rules is compared once, credited to the first rule
    select
        l.cm_id as record_id_l,
        r.cm_id as record_id_r,
        min(l.rule_rank) as rule_rank
    from cm_sized_keys as l
    inner join cm_sized_keys as r
        on l.rule_rank = r.rule_rank
        and l.block_key = r.block_key
        and l.cm_id < r.cm_id
        {%- if link_only %}
        and l.cm_source <> r.cm_source
        {%- endif %}
    where l.block_size <= {{ max_block_size }}
        {%- if compared_ids is not none %}
        -- only the pairs with a record to compare again (int_identity_match_evidence)
        and (
            l.cm_id in (select record_id from {{ compared_ids }})
            or r.cm_id in (select record_id from {{ compared_ids }})
        )
        {%- endif %}
    group by l.cm_id, r.cm_id
),
{% else %}
cm_sample as (
    select cm_id, cm_source from cm_input order by random() limit {{ sample_records }}
),

cm_candidates as (
    select l.cm_id as record_id_l, r.cm_id as record_id_r, 0 as rule_rank
    from cm_sample as l
    inner join cm_sample as r
        on l.cm_id < r.cm_id
        {%- if link_only %}
        and l.cm_source <> r.cm_source
        {%- endif %}
),
{% endif %}
{%- if once %}

cm_similarity_arguments as (
    -- the arguments of every similarity call of the levels, per pair of records
    select
        cm_candidates.record_id_l,
        cm_candidates.record_id_r,
        cm_candidates.rule_rank
        {%- for call in similarities['calls'] %},
        {{ call['a'] }} as {{ call['column'] }}_a,
        {{ call['b'] }} as {{ call['column'] }}_b
        {%- endfor %}
    from cm_candidates
    {{ cm_pair_records('cm_candidates') }}
),
{%- for call in similarities['calls'] %}

{{ call['column'] }}_values as (
    -- {{ call['function'] }} once per distinct pair of values, not per pair of records and level
    select
        a,
        b,
        {{ string_similarity('a', 'b') if call['function'] == 'string_similarity' else edit_distance_with_swaps('a', 'b') }} as similarity
    from (
        select distinct {{ call['column'] }}_a as a, {{ call['column'] }}_b as b
        from cm_similarity_arguments
    ) as distinct_values
),
{%- endfor %}

cm_compared as (
    select
        cm_similarity_arguments.record_id_l,
        cm_similarity_arguments.record_id_r,
        cm_similarity_arguments.rule_rank
        {%- for call in similarities['calls'] %},
        {{ call['column'] }}_values.similarity as {{ call['column'] }}
        {%- endfor %}
    from cm_similarity_arguments
    {%- for call in similarities['calls'] %}
    -- null-safe: a null side has a null similarity, as inline
    left join {{ call['column'] }}_values
        on {{ call['column'] }}_values.a <=> cm_similarity_arguments.{{ call['column'] }}_a
        and {{ call['column'] }}_values.b <=> cm_similarity_arguments.{{ call['column'] }}_b
    {%- endfor %}
),
{%- endif %}

cm_independent_gammas as (
    select
        cm_candidates.record_id_l,
        cm_candidates.record_id_r,
        cm_candidates.rule_rank
        {%- if once and dependent %}
        {%- for call in similarities['calls'] %},
        cm_candidates.{{ call['column'] }}
        {%- endfor %}
        {%- endif %}
        {%- for comparison in independent %},
        {{ levels[comparison['name']] }} as gamma_{{ comparison['name'] }}
        {%- endfor %}
        {%- for comparison in comparisons if comparison.get('tf_adjust') %},
        greatest(l.tf_{{ comparison['name'] }}, r.tf_{{ comparison['name'] }}) as tf_{{ comparison['name'] }}
        {%- endfor %}
    from {{ 'cm_compared as cm_candidates' if once else 'cm_candidates' }}
    {{ cm_pair_records('cm_candidates') }}
),

cm_gammas as (
    {%- if dependent %}
    -- comparisons that read other comparisons' levels (an email typo counts when the names agree)
    select
        cm_independent_gammas.*
        {%- for comparison in dependent %},
        {{ levels[comparison['name']] }} as gamma_{{ comparison['name'] }}
        {%- endfor %}
    from cm_independent_gammas
    {{ cm_pair_records('cm_independent_gammas') }}
    {%- else %}
    select * from cm_independent_gammas
    {%- endif %}
),

{%- if parameters_seed %}

cm_bayes_factors as (
    -- log2(m/u) per level: the evidence an agreement (or disagreement) carries
    select
        comparison,
        level,
        u_probability,
        ln(m_probability / u_probability) / ln(2) as level_weight
    from {{ ref(parameters_seed) }}
),
{%- endif %}

cm_prior as (
    {{ cm_prior_weight(config, 'cm_input') }}
),

cm_weighed as (
    select
        cm_gammas.*,
        {%- set vetoes = [] %}
        {%- for comparison in comparisons if comparison.get('contradicts_at_or_below') is not none %}
            {%- set veto = 'cm_gammas.gamma_' ~ comparison['name'] ~ ' between 0 and ' ~ comparison['contradicts_at_or_below'] %}
            {#- veto_overrides: this veto is lifted when every comparison of an override's `when` is at or above its level #}
            {%- set lifts = [] %}
            {%- for override in config.get('veto_overrides') or [] if comparison['name'] in override['lifts'] %}
                {%- set agree = [] %}
                {%- for rule in override['when'] %}
                    {%- do agree.append('cm_gammas.gamma_' ~ rule['comparison'] ~ ' >= ' ~ rule['at_least']) %}
                {%- endfor %}
                {%- do lifts.append('(' ~ agree | join(' and ') ~ ')') %}
            {%- endfor %}
            {%- do vetoes.append('(' ~ veto ~ ' and not (' ~ lifts | join(' or ') ~ '))' if lifts else veto) %}
        {%- endfor %}
        -- a contradiction (another valid phone, two mailboxes at one company domain) is two people
        {{ '(' ~ vetoes | join(' or ') ~ ')' if vetoes else 'false' }} as is_contradicted,
        {%- set agreements = [] %}
        {%- for rule in corroboration %}
            {%- do agreements.append('cm_gammas.gamma_' ~ rule['comparison'] ~ ' >= ' ~ rule['at_least']) %}
        {%- endfor %}
        -- names and company alone are shared by colleagues and namesakes: a strong identifier must agree
        {{ 'not (' ~ agreements | join(' or ') ~ ')' if agreements else 'false' }} as is_uncorroborated,
        {%- if evidence_only %}
        -- the levels' weights without the prior, which depends on how many records there are
        -- (cm_match_weight adds it)
        {%- for comparison in comparisons %}
        {{ '+ ' if not loop.first }}{{ cm_weight(comparison, parameters_seed) }}
        {%- endfor %} as level_weight
        {%- else %}
        cm_prior.prior_weight
        {%- for comparison in comparisons %}
        + {{ cm_weight(comparison, parameters_seed) }}
        {%- endfor %} as evidence_weight
        {%- endif %}
    from cm_gammas
    cross join cm_prior
    {%- if parameters_seed %}
    {%- for comparison in comparisons if comparison.get('m') is none %}
    left join cm_bayes_factors as w_{{ comparison['name'] }}
        on w_{{ comparison['name'] }}.comparison = '{{ comparison['name'] }}'
        and w_{{ comparison['name'] }}.level = cm_gammas.gamma_{{ comparison['name'] }}
    {%- endfor %}
    {%- endif %}
),

cm_final as (
    select
        record_id_l,
        record_id_r,
        {#- the evidence table keeps the weight of the levels; the pairs add the rule's weight and probability -#}
        {%- if evidence_only %}
        cast(level_weight as {{ sql_type('double precision') }}) as level_weight,
        {%- else %}
        {{ cm_match_weight_and_probability('evidence_weight') }},
        {%- endif %}
        is_contradicted,
        is_uncorroborated,
        {{ cm_matched_by(rules) }} as matched_by
        {%- for comparison in comparisons %},
        cast(gamma_{{ comparison['name'] }} as integer) as gamma_{{ comparison['name'] }}
        {%- endfor %}
    from cm_weighed
)

select * from cm_final
{% endmacro %}

{#- The rule that found a pair, from its rule_rank. -#}
{% macro cm_matched_by(rules) -%}
        case rule_rank
            when 0 then 'random_sample'
            {%- for rule in rules %}
            when {{ loop.index }} then '{{ rule['name'] }}'
            {%- endfor %}
        end
{%- endmacro %}

{#- cm_keyed and cm_keys (CTEs, each followed by a comma): every record's blocking keys under `rules`,
    one row per (record, rule, key) over cm_input. -#}
{% macro cm_key_ctes(rules) -%}
cm_keyed as (
    select
        cm_id,
        cm_source,
        {{ cm_key_columns(rules) }}
    from cm_input
),

cm_keys as (
    {%- for rule in rules %}
        {%- set rule_index = loop.index %}
        {%- for key in rule['keys'] %}
    select cm_id, cm_source, {{ rule_index }} as rule_rank, k_{{ rule_index }}_{{ loop.index }} as block_key
    from cm_keyed where k_{{ rule_index }}_{{ loop.index }} is not null
    {{ 'union' if not loop.last }}
        {%- endfor %}
    {{ 'union' if not loop.last }}
    {%- endfor %}
),
{%- endmacro %}

{#- Standardisation failures per comparison: values present that do not standardise (a date that
    is no date, a number that is none, an address without @, a phone with fewer digits than the
    comparison keeps) and values the blocklist removed (placeholders, role mailboxes). One row per
    comparison: comparison, source_column, comparison_type, present_values, failed_values,
    blocked_values, failure_reason (why a value fails: no date, no number, no @, fewer digits):
    the counts (configured_match_standardisation_counts) of each record's verdicts
    (configured_match_standardisation_flags). -#}
{% macro configured_match_standardisation(records, config) %}
{{ configured_match_standardisation_counts('(' ~ configured_match_standardisation_flags(records, config) ~ ')', config) }}
{% endmacro %}

{#- One row per record of `records` and comparison of `config`: record_id (the configuration's
    record_id column), comparison, is_present (a value to compare), is_failed (present, and it does
    not standardise) and is_blocked (the blocklist removed it); and the columns of `carry`. -#}
{% macro configured_match_standardisation_flags(records, config, carry=[]) %}
    {%- for comparison in config['comparisons'] %}
        {%- set kind = comparison['type'] -%}
        {%- set columns = comparison.get('columns') or [comparison.get('column', comparison['name'])] -%}
        {%- set columns = columns | reject('none') | list -%}
        {%- set text = cm_text(columns[0]) -%}
        {%- set raw = "nullif(trim(cast(" ~ columns[0] ~ " as " ~ sql_type('varchar') ~ ")), '')" %}
        {%- set email = "nullif(replace(lower(cast(" ~ columns[0] ~ " as " ~ sql_type('varchar') ~ ")), ' ', ''), '')" %}
select
    cast({{ config.get('record_id', 'record_id') }} as {{ sql_type('varchar') }}) as record_id,
    '{{ comparison['name'] }}' as comparison,
    coalesce({% for c in columns %}{{ cm_text(c) }}{{ ', ' if not loop.last }}{% endfor %}{{ ", cast(null as " ~ sql_type('varchar') ~ ")" if columns | length == 1 }}) is not null as is_present,
    case when
    {%- if kind == 'date_parts' %} {{ text }} is not null and {{ cm_parse_date(text) }} is null
    {%- elif kind == 'numeric' %} {{ text }} is not null and {{ cm_parse_number(text) }} is null
    {%- elif kind == 'email_local' %} position('@' in {{ text }}) = 0
    {%- elif kind == 'email' %} not {{ cm_blocked(comparison, email) }} and position('@' in {{ email }}) = 0
    {%- elif comparison.get('standardise') == 'phone' %} not {{ cm_blocked(comparison, raw) }}
        and length({{ regex_replace_all(raw, "'[^0-9]'", "''") }}) < {{ comparison.get('digits', 8) }}
    {%- else %} false
    {%- endif %} then true else false end as is_failed,
    case when
    {%- if kind == 'email' %} {{ email }} is not null and {{ cm_blocked(comparison, email) }}
    {%- elif kind != 'date_parts' and kind != 'numeric' and kind != 'email_local' and comparison.get('standardise') == 'phone' %} {{ raw }} is not null and {{ cm_blocked(comparison, raw) }}
    {%- elif kind != 'date_parts' and kind != 'numeric' and kind != 'email_local' and comparison.get('blocklist') %} {{ text }} is not null and {{ cm_blocked(comparison, text) }}
    {%- else %} false
    {%- endif %} then true else false end as is_blocked
    {%- for column in carry %},
    {{ column }}
    {%- endfor %}
from {{ records }}
{{ 'union all' if not loop.last }}
    {%- endfor %}
{% endmacro %}

{#- The counts per comparison of `config` (configured_match_standardisation) from `flags`
    (configured_match_standardisation_flags' rows, a relation or parenthesised query): one row per
    comparison, also when it has no record. -#}
{% macro configured_match_standardisation_counts(flags, config) %}
select
    cm_comparisons.comparison,
    cm_comparisons.source_column,
    cm_comparisons.comparison_type,
    count(case when flags.is_present then 1 end) as present_values,
    count(case when flags.is_failed then 1 end) as failed_values,
    count(case when flags.is_blocked then 1 end) as blocked_values,
    cm_comparisons.failure_reason
from (
    {%- for comparison in config['comparisons'] %}
        {%- set kind = comparison['type'] -%}
        {%- set columns = comparison.get('columns') or [comparison.get('column', comparison['name'])] -%}
        {%- set columns = columns | reject('none') | list %}
    select
        '{{ comparison['name'] }}' as comparison,
        '{{ columns | join(', ') }}' as source_column,
        '{{ kind }}' as comparison_type,
        {%- if kind == 'date_parts' %}
        'no date (YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY)' as failure_reason
        {%- elif kind == 'numeric' %}
        'no number' as failure_reason
        {%- elif kind in ('email_local', 'email') %}
        'no @' as failure_reason
        {%- elif comparison.get('standardise') == 'phone' %}
        'fewer than {{ comparison.get('digits', 8) }} digits' as failure_reason
        {%- else %}
        cast(null as {{ sql_type('varchar') }}) as failure_reason
        {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
) as cm_comparisons
left join {{ flags }} as flags
    on flags.comparison = cm_comparisons.comparison
group by cm_comparisons.comparison, cm_comparisons.source_column, cm_comparisons.comparison_type, cm_comparisons.failure_reason
{% endmacro %}

{#- `dbt run-operation configured_match_table --args '{source: main.records, target: main.pairs,
    config: {...}, groups: main.people}'`: (re)creates `target` (every compared pair, scored) and
    `target`_standardisation (failures per comparison), and logs the failures. With `groups`, also
    the grouped output: every record (node_key = its record id) with its group (component_key, the
    smallest record id of its group), pairs at or above `threshold` (default var
    identity_match_threshold, 0.95) joined by the pipeline's connected_components. Without
    `config`, the pipeline's own (macro identity_match_config). -#}
{% macro configured_match_table(source, target, config=none, sample_records=none, groups=none, threshold=none) %}
    {%- set config = config if config is not none else identity_match_config() -%}
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
            select cast({{ config.get('record_id', 'record_id') }} as {{ sql_type('varchar') }}), cast({{ config.get('record_id', 'record_id') }} as {{ sql_type('varchar') }})
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

{#- `dbt run-operation identity_match_table --args '{source: main.people_records, target: main.pairs}'`:
    (re)creates `target` as every compared pair of the records in `source` under the pipeline's
    configuration (the SQL int_identity_match_pairs runs, before its threshold). For evaluation and
    estimation on any table with the pipeline's record columns (record_id, first_name, last_name,
    full_name, email, phone, company, city, dob, national_id); sample_records compares random pairs
    instead (u). -#}
{% macro identity_match_table(source, target, max_block_size=none, sample_records=none) %}
    {%- set config = identity_match_config() -%}
    {%- if max_block_size is not none -%}{%- do config.update({'max_block_size': max_block_size}) -%}{%- endif -%}
    {%- do configured_match_table(source, target, config, sample_records=sample_records) -%}
{% endmacro %}
