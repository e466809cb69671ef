{#- Fellegi-Sunter probabilistic record linkage, for records that share no exact key (a form typed
    with a misspelt email from a new device). Splink (Fellegi-Sunter on DuckDB) is the model; this is
    our own SQL so that it runs on Postgres too.

    1. Standardise each record (names split and lower-cased, email split into mailbox and domain,
       phone reduced to its last 8 digits, legal suffixes stripped from the company).
    2. Block: only records that share a blocking key are compared (near-linear instead of n²). A
       pair found by several rules is compared once; matched_by names the first rule that found it.
    3. Compare: each comparison puts the pair on a level (gamma; -1 when either side is null).
       Fellegi-Sunter assumes comparisons independent; mailboxes are made of names, so a near-miss
       email (one typo on the address as typed, Gmail's dots ignored only after that comparison;
       a number added or dropped is never a typo) counts only when the names agree (colleagues
       wu.gang@ / xu.gang@). Names are compared in plain letters, Chinese names in pinyin (seed
       identity_match_pinyin), so 王伟, Wang Wei and Wei Wang agree; romanised Chinese names get no
       typo or Jaro-Winkler level (Zhang / Huang, Wang / Yang are other surnames).
    4. Weigh: match_weight = log2(prior odds) + sum of log2(m/u) of the levels, with m = P(level |
       same person) and u = P(level | different people) from the seed identity_match_comparisons;
       match_probability = 2^w / (1 + 2^w). A null comparison weighs 0 (no evidence either way).
       The prior is the seed identity_match_settings' matches_per_record spread over the other
       records: P(two random records match) = matches_per_record / (records - 1), so it stays right
       as the warehouse grows. bench/identity_matching.py estimates m, u and the prior (EM).

    5. Contradict: a valid phone that differs beyond one typo, two mailboxes at one company domain
       (not a webmail) more than one typo apart on the address as typed, or dates of birth more than
       a year apart are two people: is_contradicted, a veto (-30), whatever names, company and the
       other comparisons say. Rules that are right by construction rather than a weight tuned on a
       sample: issue 12 found same-name colleagues (yan.wu1665@, yan.wu2548@huatech.com) glued at
       p = 0.9999993 by a look-alike mailbox worth +12.9 bits against -6.6 for the other phone.
    6. Corroborate: names and company are shared by colleagues and namesakes, and independence lets
       their agreement outvote everything else. A pair is a match only when an email, phone or date
       of birth agrees at least partly (a typo'd email, a date of birth within a year); otherwise it
       is_uncorroborated and weighs -30. Identical names at one company with nothing contradicting
       are not enough: one colleague's record with only a mailbox and the other's with only a phone
       look exactly like one person seen twice. Measured with bench/identity.py (docs/identity.md).

    Portability: the similarity functions are isolated in the small dispatched macros below.
    DuckDB has jaro_winkler_similarity, levenshtein and damerau_levenshtein. On Postgres, install
    fuzzystrmatch for levenshtein (inputs up to 255 characters); it has neither Damerau-Levenshtein
    (default__ uses levenshtein, so a transposition costs 2) nor Jaro-Winkler (that would need a UDF:
    default__ uses 1 - levenshtein / longer length, which scores typos lower, so re-estimate the
    seed there). DuckDB's levenshtein and jaro-winkler count UTF-8 bytes: a Chinese character is
    3 edits, which is why names and companies are compared with the similarity, not edit counts.
    Regular expressions stay in the subset RE2 and Postgres share (no \b, no lookaround; the
    Chinese range [一-龥] needs a UTF8 database). Only DuckDB is exercised by the tests. -#}

{#- Jaro-Winkler similarity in [0, 1]; 1 = equal. -#}
{% macro string_similarity(a, b) -%}
    {{ return(adapter.dispatch('string_similarity')(a, b)) }}
{%- endmacro %}

{% macro default__string_similarity(a, b) -%}
    (1.0 - cast(levenshtein({{ a }}, {{ b }}) as double precision) / nullif(greatest(length({{ a }}), length({{ b }})), 0))
{%- endmacro %}

{% macro duckdb__string_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{#- Levenshtein distance: insertions, deletions, substitutions. -#}
{% macro edit_distance(a, b) -%}
    {{ return(adapter.dispatch('edit_distance')(a, b)) }}
{%- endmacro %}

{% macro default__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro duckdb__edit_distance(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{#- Damerau-Levenshtein distance: a swap of two neighbouring characters is one edit. -#}
{% macro edit_distance_with_swaps(a, b) -%}
    {{ return(adapter.dispatch('edit_distance_with_swaps')(a, b)) }}
{%- endmacro %}

{% macro default__edit_distance_with_swaps(a, b) -%}
    levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{% macro duckdb__edit_distance_with_swaps(a, b) -%}
    damerau_levenshtein({{ a }}, {{ b }})
{%- endmacro %}

{#- Days between two ISO dates held as text; null when either is not a date. -#}
{% macro days_apart(a, b) -%}
    {{ return(adapter.dispatch('days_apart')(a, b)) }}
{%- endmacro %}

{% macro default__days_apart(a, b) -%}
    abs(
        cast(case when {{ a }} similar to '[0-9]{4}-[0-9]{2}-[0-9]{2}' then {{ a }} end as date)
        - cast(case when {{ b }} similar to '[0-9]{4}-[0-9]{2}-[0-9]{2}' then {{ b }} end as date)
    )
{%- endmacro %}

{% macro duckdb__days_apart(a, b) -%}
    abs(date_diff('day', try_cast({{ a }} as date), try_cast({{ b }} as date)))
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
{% macro name_match_level(a, b, a_hz, b_hz, is_chinese_name) -%}
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
        when not {{ is_chinese_name }} and {{ string_similarity(a, b) }} >= 0.92 then 2
        when not {{ is_chinese_name }} and least(length({{ a }}), length({{ b }})) >= 4
            and {{ edit_distance_with_swaps(a, b) }} <= 1 then 2
        when not {{ is_chinese_name }} and {{ string_similarity(a, b) }} >= 0.8 then 1
        when (length({{ a }}) = 1 or length({{ b }}) = 1) and left({{ a }}, 1) = left({{ b }}, 1) then 1
        else 0
    end
{%- endmacro %}

{#- A name part in plain lower-case letters a-z (ü as v, as pinyin is typed): spaces, hyphens,
    apostrophes and other scripts dropped ("Xiao-Ming" -> xiaoming). -#}
{% macro latin_letters(value) -%}
    regexp_replace(replace(lower({{ value }}), 'ü', 'v'), '[^a-z]', '', 'g')
{%- endmacro %}

{#- Two-character Chinese surnames (the rest have one character). -#}
{% macro compound_chinese_surnames() -%}
    {{ return(['欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '令狐', '慕容', '尉迟', '夏侯', '长孙', '宇文', '公孙', '司徒', '端木']) }}
{%- endmacro %}

{#- The comparisons, in the order of the gamma_ columns; the seed identity_match_comparisons has
    one row per (comparison, level >= 0). -#}
{% macro probabilistic_match_comparisons() -%}
    {{ return(['first_name', 'last_name', 'dob', 'email', 'phone', 'company', 'city']) }}
{%- endmacro %}

{#- The blocking rules, most specific first: (name, key expressions). A record gets one key per
    expression (names are keyed both ways round, as people swap first and last name); a key that is
    null is no key. -#}
{% macro probabilistic_match_blocking_rules() -%}
    {{ return([
        ('email_local', ['email_local']),
        ('phone_suffix', ['phone_suffix']),
        ('surname_initial', [
            "last_name || '|' || left(first_name, 1)",
            "first_name || '|' || left(last_name, 1)",
        ]),
        ('name_company', [
            "company_key || '|' || last_name",
            "company_key || '|' || first_name",
            "company_domain || '|' || last_name",
            "company_domain || '|' || first_name",
        ]),
        ('name_city', [
            "left(first_name, 3) || '|' || city",
            "left(last_name, 3) || '|' || city",
        ]),
        ('dob_initial', [
            "dob || '|' || left(first_name, 1)",
            "dob || '|' || left(last_name, 1)",
        ]),
        ('dob_city', ["dob || '|' || city"]),
    ]) }}
{%- endmacro %}

{#- Candidate pairs of `records` (a relation or CTE name with record_id, first_name, last_name,
    full_name, email, phone, company, city, dob, all text, any null), scored. Returns a select of
    record_id_l < record_id_r, match_weight, match_probability, matched_by and one gamma_ column
    per comparison. It is not filtered: callers keep match_probability >= their threshold.

    max_block_size: a blocking key shared by more records than this finds no pairs (a common
    surname initial in a big city); the pairs it would find usually share a sharper key too.
    sample_records: instead of blocking, compare every pair among that many random records, which
    is how u is estimated (matched_by 'random_sample'). -#}
{% macro probabilistic_match_pairs(records, max_block_size=50, sample_records=none) %}
    {%- set rules = probabilistic_match_blocking_rules() -%}
    {%- set comparisons = probabilistic_match_comparisons() -%}
with

fs_input as (
    select
        cast(record_id as varchar) as record_id,
        nullif(trim(regexp_replace(lower(first_name), '[\s.,]+', ' ', 'g')), '') as first_name,
        nullif(trim(regexp_replace(lower(last_name), '[\s.,]+', ' ', 'g')), '') as last_name,
        nullif(trim(regexp_replace(lower(full_name), '[\s.,]+', ' ', 'g')), '') as full_name,
        nullif(replace(lower(email), ' ', ''), '') as email,
        nullif(trim(phone), '') as phone,
        nullif(trim(lower(company)), '') as company,
        nullif(trim(regexp_replace(lower(city), '市$', '')), '') as city,
        nullif(trim(dob), '') as dob
    from {{ records }}
),

fs_free_email_domains as (
    select * from {{ ref('identity_match_free_email_domains') }}
),

fs_pinyin as (
    select * from {{ ref('identity_match_pinyin') }}
),

fs_surname_pinyin as (
    -- the common Chinese surnames in pinyin: a romanised name starting with one is written surname first
    select distinct surname_pinyin from fs_pinyin where surname_pinyin is not null
),

fs_name_input as (
    -- A name in Chinese characters (no other letter in it) is split into surname and given name:
    -- the given fields, else the full name's first character, or two for a compound surname (欧阳).
    select
        record_id,
        first_name,
        last_name,
        full_name,
        case
            when first_name is null and last_name is null
                and regexp_replace(full_name, '[一-龥 ]', '', 'g') = ''
                then replace(full_name, ' ', '')
        end as full_hz,
        case
            when first_name is not null and last_name is not null
                and regexp_replace(first_name || last_name, '[一-龥]', '', 'g') = ''
                then last_name
        end as fields_surname_hz
    from fs_input
),

fs_name_hz as (
    select
        record_id,
        first_name,
        last_name,
        full_name,
        case
            when fields_surname_hz is not null then fields_surname_hz
            when length(full_hz) between 2 and 6 then
                case
                    when left(full_hz, 2) in ({{ "'" ~ compound_chinese_surnames() | join("', '") ~ "'" }})
                        and length(full_hz) > 2 then left(full_hz, 2)
                    else left(full_hz, 1)
                end
        end as surname_hz,
        case
            when fields_surname_hz is not null then first_name
            when length(full_hz) between 2 and 6 then
                case
                    when left(full_hz, 2) in ({{ "'" ~ compound_chinese_surnames() | join("', '") ~ "'" }})
                        and length(full_hz) > 2 then substr(full_hz, 3)
                    else substr(full_hz, 2)
                end
        end as given_hz
    from fs_name_input
),

fs_name_chars as (
    -- one row per character of a Chinese name part, with its pinyin (as a surname for the surname)
    select
        parts.record_id,
        parts.part,
        positions.pos,
        case when parts.part = 'surname' then coalesce(fs_pinyin.surname_pinyin, fs_pinyin.pinyin) else fs_pinyin.pinyin end
            as syllable
    from (
        select record_id, 'surname' as part, surname_hz as hz from fs_name_hz where surname_hz is not null
        union all
        select record_id, 'given' as part, given_hz as hz from fs_name_hz where given_hz is not null
    ) as parts
    inner join (values (1), (2), (3), (4), (5), (6)) as positions (pos)
        on positions.pos <= length(parts.hz)
    left join fs_pinyin
        on fs_pinyin.character = substr(parts.hz, positions.pos, 1)
),

fs_name_syllables as (
    -- a part with a character the seed does not know has no pinyin (it is compared in characters only)
    select
        record_id,
        part,
        case when count(syllable) = count(*) then {{ dbt.listagg('syllable', "''", 'order by pos') }} end as syllables
    from fs_name_chars
    group by record_id, part
),

fs_name_words as (
    -- a romanised full name: its first and last word and the words between
    select
        fs_name_hz.*,
        case
            when surname_hz is null and first_name is null and last_name is null
                and regexp_replace(full_name, '[一-龥 ]', '', 'g') <> ''
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
    from fs_name_hz
),

fs_names as (
    -- Every name as (given, surname) in plain letters a-z (ü as v), Chinese names in pinyin, so that
    -- 王伟, Wang Wei, Wei Wang and WANG Wei compare equal. A romanised name is read surname first
    -- when its first word is a Chinese surname in pinyin (Wang Xiao Ming), else given name first
    -- (Kevin Wang); two-word names the other way round are aligned pair by pair.
    select
        fs_name_words.record_id,
        fs_name_words.surname_hz,
        fs_name_words.given_hz,
        case
            when fs_name_words.surname_hz is not null then given_syllables.syllables
            when fs_name_words.latin_full is null then {{ latin_letters('fs_name_words.first_name') }}
            when fs_name_words.first_word is null then {{ latin_letters('fs_name_words.latin_full') }}
            when first_surname.surname_pinyin is not null and last_surname.surname_pinyin is null
                then {{ latin_letters("substr(fs_name_words.latin_full, length(fs_name_words.first_word) + 2)") }}
            else {{ latin_letters("left(fs_name_words.latin_full, length(fs_name_words.latin_full) - length(fs_name_words.last_word) - 1)") }}
        end as given_key,
        case
            when fs_name_words.surname_hz is not null then surname_syllables.syllables
            when fs_name_words.latin_full is null then {{ latin_letters('fs_name_words.last_name') }}
            when fs_name_words.first_word is null then null
            when first_surname.surname_pinyin is not null and last_surname.surname_pinyin is null
                then {{ latin_letters('fs_name_words.first_word') }}
            else {{ latin_letters('fs_name_words.last_word') }}
        end as surname_key,
        -- romanised Chinese: one letter apart is another name (Zhang / Zhan, Wei / Wen), not a typo
        fs_name_words.surname_hz is not null
        or first_surname.surname_pinyin is not null
        or last_surname.surname_pinyin is not null
        or latin_surname.surname_pinyin is not null as is_chinese_name
    from fs_name_words
    left join fs_name_syllables as given_syllables
        on given_syllables.record_id = fs_name_words.record_id and given_syllables.part = 'given'
    left join fs_name_syllables as surname_syllables
        on surname_syllables.record_id = fs_name_words.record_id and surname_syllables.part = 'surname'
    left join fs_surname_pinyin as first_surname
        on first_surname.surname_pinyin = {{ latin_letters('fs_name_words.first_word') }}
    left join fs_surname_pinyin as last_surname
        on last_surname.surname_pinyin = {{ latin_letters('fs_name_words.last_word') }}
    left join fs_surname_pinyin as latin_surname
        on latin_surname.surname_pinyin = {{ latin_letters('fs_name_words.last_name') }}
),

fs_standardised as (
    select
        fs_input.record_id,
        nullif(fs_names.given_key, '') as first_name,
        nullif(fs_names.surname_key, '') as last_name,
        fs_names.given_hz,
        fs_names.surname_hz,
        coalesce(fs_names.is_chinese_name, false) as is_chinese_name,
        -- email: the canonical mailbox (Gmail dots, +tags); shared and placeholder addresses are no
        -- evidence. The address as typed is kept for the typo comparison (dots matter there).
        case
            when not {{ is_blocked_identifier('email', 'fs_input.email') }} then {{ canonical_email('fs_input.email') }}
        end as email,
        case when not {{ is_blocked_identifier('email', 'fs_input.email') }} then fs_input.email end as email_typed,
        -- phone: the last 8 digits survive country codes, spaces and dashes
        case
            when not {{ is_blocked_identifier('phone', 'fs_input.phone') }}
                and length(regexp_replace(fs_input.phone, '[^0-9]', '', 'g')) >= 8
                then right(regexp_replace(fs_input.phone, '[^0-9]', '', 'g'), 8)
        end as phone_suffix,
        -- company: punctuation to spaces, legal and generic suffixes stripped, then spaces dropped
        nullif(
            replace(
                regexp_replace(
                    regexp_replace(
                        trim(regexp_replace(fs_input.company, '[^a-z0-9一-龥]+', ' ', 'g')),
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
        ) as company_key,
        fs_input.city,
        fs_input.dob
    from fs_input
    left join fs_names
        on fs_names.record_id = fs_input.record_id
),

fs_records as (
    select
        fs_standardised.*,
        case when email like '%@%' then regexp_replace(email, '@.*$', '') end as email_local,
        case when email_typed like '%@%' then regexp_replace(email_typed, '@.*$', '') end as email_local_typed,
        case when email like '%@%' then regexp_replace(email_typed, '^[^@]*@', '') end as email_domain,
        case
            when email like '%@%' and fs_free_email_domains.domain is null
                then regexp_replace(email, '^[^@]*@', '')
        end as company_domain
    from fs_standardised
    left join fs_free_email_domains
        on fs_free_email_domains.domain = regexp_replace(fs_standardised.email, '^[^@]*@', '')
),

{% if sample_records is none %}
fs_keys as (
    select distinct
        record_id,
        rule_rank,
        block_key
    from (
        {%- for rule_name, keys in rules %}
        {%- set rule_rank = loop.index %}
        {%- for key in keys %}
        select record_id, {{ rule_rank }} as rule_rank, {{ key }} as block_key from fs_records
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as keys
    where block_key is not null
),

fs_blocks as (
    select
        fs_keys.*,
        count(*) over (partition by rule_rank, block_key) as block_size
    from fs_keys
),

fs_candidates as (
    -- a pair found by several rules is compared once, credited to the first rule
    select
        l.record_id as record_id_l,
        r.record_id as record_id_r,
        min(l.rule_rank) as rule_rank
    from fs_blocks as l
    inner join fs_blocks as r
        on l.rule_rank = r.rule_rank
        and l.block_key = r.block_key
        and l.record_id < r.record_id
    where l.block_size <= {{ max_block_size }}
    group by l.record_id, r.record_id
),
{% else %}
fs_sample as (
    select record_id from fs_records
    order by random()
    limit {{ sample_records }}
),

fs_candidates as (
    select
        l.record_id as record_id_l,
        r.record_id as record_id_r,
        0 as rule_rank
    from fs_sample as l
    inner join fs_sample as r
        on l.record_id < r.record_id
),
{% endif %}

fs_joined as (
    select
        fs_candidates.record_id_l,
        fs_candidates.record_id_r,
        fs_candidates.rule_rank,
        l.first_name as first_name_l,
        l.last_name as last_name_l,
        r.first_name as first_name_r,
        r.last_name as last_name_r,
        l.given_hz as given_hz_l,
        l.surname_hz as surname_hz_l,
        r.given_hz as given_hz_r,
        r.surname_hz as surname_hz_r,
        l.is_chinese_name or r.is_chinese_name as is_chinese_name,
        l.dob as dob_l,
        r.dob as dob_r,
        l.email as email_l,
        r.email as email_r,
        l.email_local_typed as email_local_l,
        r.email_local_typed as email_local_r,
        l.email_local as email_canonical_local_l,
        r.email_local as email_canonical_local_r,
        l.email_domain as email_domain_l,
        r.email_domain as email_domain_r,
        l.company_domain as company_domain_l,
        r.company_domain as company_domain_r,
        l.phone_suffix as phone_l,
        r.phone_suffix as phone_r,
        l.company_key as company_l,
        r.company_key as company_r,
        l.city as city_l,
        r.city as city_r
    from fs_candidates
    inner join fs_records as l
        on l.record_id = fs_candidates.record_id_l
    inner join fs_records as r
        on r.record_id = fs_candidates.record_id_r
),

fs_aligned as (
    -- "Wang Li" and "Li Wang": a name written the other way round is compared the way more of its
    -- parts agree exactly (names in characters have a known surname and are never turned round)
    select
        fs_joined.*,
        given_hz_l is null and given_hz_r is null
        and (case when first_name_l = last_name_r then 1 else 0 end)
        + (case when last_name_l = first_name_r then 1 else 0 end)
        > (case when first_name_l = first_name_r then 1 else 0 end)
        + (case when last_name_l = last_name_r then 1 else 0 end) as names_swapped
    from fs_joined
),

fs_name_levels as (
    select
        fs_aligned.*,
        {{ name_match_level(
            'first_name_l', 'case when names_swapped then last_name_r else first_name_r end',
            'given_hz_l', 'given_hz_r', 'is_chinese_name') }} as gamma_first_name,
        {{ name_match_level(
            'last_name_l', 'case when names_swapped then first_name_r else last_name_r end',
            'surname_hz_l', 'surname_hz_r', 'is_chinese_name') }} as gamma_last_name
    from fs_aligned
),

fs_gammas as (
    select
        record_id_l,
        record_id_r,
        rule_rank,
        gamma_first_name,
        gamma_last_name,
        case
            when dob_l is null or dob_r is null then -1
            when dob_l = dob_r then 3
            -- one typo in the digits (a swap across a dash is one edit), day and month swapped
            when {{ edit_distance_with_swaps("regexp_replace(dob_l, '[^0-9]', '', 'g')", "regexp_replace(dob_r, '[^0-9]', '', 'g')") }} <= 1
                then 2
            when left(dob_l, 4) = left(dob_r, 4) and substr(dob_l, 6, 2) = substr(dob_r, 9, 2)
                and substr(dob_l, 9, 2) = substr(dob_r, 6, 2) then 2
            when {{ days_apart('dob_l', 'dob_r') }} <= 31 then 2
            when {{ days_apart('dob_l', 'dob_r') }} <= 365 then 1
            else 0
        end as gamma_dob,
        case
            when email_l is null or email_r is null then -1
            when email_l = email_r then 3
            -- no @ to split: the whole address
            when email_domain_l is null or email_domain_r is null
                then case when {{ edit_distance_with_swaps('email_l', 'email_r') }} <= 1 then 2 else 1 end
            -- a typo: one edit in the mailbox as typed (dots included) or in the domain, or Gmail's
            -- dots on one side and one edit in the domain (taochen587@gmail.com, tao.chen587@gmial.com);
            -- never a number added or dropped (wangwei@, wangwei2@ are two mailboxes). It is evidence
            -- only when the names agree (colleagues Wu Gang and Xu Gang have wu.gang@ and xu.gang@);
            -- otherwise it is merely different (1), never a contradiction
            when least(length(email_local_l), length(email_local_r)) >= 4
                and (
                    (
                        email_domain_l = email_domain_r
                        and {{ edit_distance_with_swaps('email_local_l', 'email_local_r') }} <= 1
                        and not (
                            regexp_replace(email_local_l, '[0-9]+$', '') = regexp_replace(email_local_r, '[0-9]+$', '')
                            and length(email_local_l) <> length(email_local_r)
                        )
                    )
                    or (
                        email_local_l = email_local_r
                        and {{ edit_distance_with_swaps('email_domain_l', 'email_domain_r') }} <= 1
                    )
                    or (
                        (email_domain_l in ('gmail.com', 'googlemail.com') or email_domain_r in ('gmail.com', 'googlemail.com'))
                        and replace(regexp_replace(email_local_l, '[+].*$', ''), '.', '')
                            = replace(regexp_replace(email_local_r, '[+].*$', ''), '.', '')
                        and {{ edit_distance_with_swaps('email_domain_l', 'email_domain_r') }} <= 1
                    )
                    or (
                        email_domain_l = 'gmail.com' and email_domain_r = 'gmail.com'
                        and {{ edit_distance_with_swaps('email_canonical_local_l', 'email_canonical_local_r') }} <= 1
                        and not (
                            regexp_replace(email_canonical_local_l, '[0-9]+$', '') = regexp_replace(email_canonical_local_r, '[0-9]+$', '')
                            and length(email_canonical_local_l) <> length(email_canonical_local_r)
                        )
                    )
                ) then case when gamma_first_name in (-1, 2, 3) and gamma_last_name in (-1, 2, 3) then 2 else 1 end
            -- two different mailboxes at one company domain: two people (a contradiction)
            when company_domain_l = company_domain_r then 0
            -- different addresses elsewhere: people have a work and a private address
            else 1
        end as gamma_email,
        case
            when phone_l is null or phone_r is null then -1
            when phone_l = phone_r then 2
            when {{ edit_distance_with_swaps('phone_l', 'phone_r') }} <= 1 then 1
            else 0
        end as gamma_phone,
        case
            when company_l is null or company_r is null then -1
            when company_l = company_r then 2
            when {{ string_similarity('company_l', 'company_r') }} >= 0.88 then 1
            when length(company_l) >= 2 and length(company_r) >= 2
                and (strpos(company_l, company_r) > 0 or strpos(company_r, company_l) > 0) then 1
            else 0
        end as gamma_company,
        case
            when city_l is null or city_r is null then -1
            when city_l = city_r then 2
            when {{ string_similarity('city_l', 'city_r') }} >= 0.88 then 1
            else 0
        end as gamma_city
    from fs_name_levels
),

fs_bayes_factors as (
    -- log2(m/u) per level: the evidence an agreement (or disagreement) carries
    select
        comparison,
        level,
        ln(m_probability / u_probability) / ln(2) as level_weight
    from {{ ref('identity_match_comparisons') }}
),

fs_prior as (
    -- P(two random records are the same person) = matches per record / (records - 1)
    select
        ln(prior / (1 - prior)) / ln(2) as prior_weight
    from (
        select
            least(
                cast(settings.value as double precision) / greatest(record_count.n - 1, 1),
                0.5
            ) as prior
        from {{ ref('identity_match_settings') }} as settings
        cross join (select count(*) as n from fs_records) as record_count
        where settings.setting = 'matches_per_record'
    ) as prior_probability
),

fs_weighed as (
    select
        fs_gammas.*,
        -- Corroboration. Names and company alone are shared by colleagues and namesakes (田静 and
        -- 田静 at one firm, Kevin Liu and Kevin Lim), and Fellegi-Sunter's independence lets their
        -- agreement outvote a different mailbox or mobile. A pair is only a match when a contact
        -- or the date of birth agrees at least roughly (a typo'd email still does), or when nothing
        -- contradicts and both names are written the same.
        -- Contradiction: a different valid phone, another mailbox at the same company domain or a
        -- different date of birth (beyond a typo) is a veto, whatever names and company say.
        fs_gammas.gamma_email = 0 or fs_gammas.gamma_phone = 0 or fs_gammas.gamma_dob = 0 as is_contradicted,
        -- Corroboration: an email, phone or date of birth must agree at least roughly (a typo'd email
        -- does). Identical names at one company are not enough even when nothing contradicts: a
        -- colleague of the same name whose one record has only a mailbox, the other's only a phone,
        -- looks exactly like one person seen twice (issue 12).
        not (fs_gammas.gamma_email >= 2 or fs_gammas.gamma_phone >= 1 or fs_gammas.gamma_dob >= 1) as is_uncorroborated,
        fs_prior.prior_weight
        {%- for comparison in comparisons %}
        + coalesce(w_{{ comparison }}.level_weight, 0)
        {%- endfor %} as evidence_weight
    from fs_gammas
    cross join fs_prior
    {%- for comparison in comparisons %}
    left join fs_bayes_factors as w_{{ comparison }}
        on w_{{ comparison }}.comparison = '{{ comparison }}'
        and w_{{ comparison }}.level = fs_gammas.gamma_{{ comparison }}
    {%- endfor %}
),

fs_final as (
    select
        record_id_l,
        record_id_r,
        -- a contradicted or uncorroborated pair is no match, whatever its names and company say
        cast(
            case when is_contradicted or is_uncorroborated then -30.0 else evidence_weight end as double precision
        ) as match_weight,
        cast(
            1.0 / (1.0 + power(2.0, -(case when is_contradicted or is_uncorroborated then -30.0 else evidence_weight end)))
            as double precision
        ) as match_probability,
        is_contradicted,
        is_uncorroborated,
        case rule_rank
            when 0 then 'random_sample'
            {%- for rule_name, keys in rules %}
            when {{ loop.index }} then '{{ rule_name }}'
            {%- endfor %}
        end as matched_by,
        {%- for comparison in comparisons %}
        cast(gamma_{{ comparison }} as integer) as gamma_{{ comparison }}{{ ',' if not loop.last }}
        {%- endfor %}
    from fs_weighed
)

select * from fs_final
{% endmacro %}

{#- `dbt run-operation identity_match_table --args '{source: main.people_records, target: main.pairs}'`:
    (re)creates `target` as every compared pair of the records in `source` (same SQL as the
    pipeline's int_identity_match_pairs, before its threshold). For evaluation and estimation on
    any table with the interface columns; sample_records compares random pairs instead (u). -#}
{% macro identity_match_table(source, target, max_block_size=50, sample_records=none) %}
    {%- call statement('identity_match_drop') -%}
        drop table if exists {{ target }}
    {%- endcall -%}
    {%- call statement('identity_match_create') -%}
        create table {{ target }} as
        select * from (
            {{ probabilistic_match_pairs(source, max_block_size=max_block_size, sample_records=sample_records) }}
        ) as pairs
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {%- set counted = run_query('select count(*) from ' ~ target) -%}
    {%- do log('identity_match_table: ' ~ counted.columns[0].values()[0] ~ ' pairs in ' ~ target, info=true) -%}
{% endmacro %}
