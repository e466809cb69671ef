{#- The matcher's similarity functions on Spark (dispatched from macros/match_functions.sql), as
    Spark SQL expressions with higher-order functions (Spark has no Jaro-Winkler or
    Damerau-Levenshtein, and its levenshtein counts characters). Same definitions as DuckDB's and
    the Postgres functions' (macros/postgres_functions.sql), on the UTF-8 bytes of each side (a
    Chinese character is 3 bytes there), so the levels and the people are the same on every engine.
    The bytes come from hex(encode(s, 'UTF-8')); an expression is bound once with the
    `transform(array(x), v -> ...)[0]` idiom, Spark SQL's only `let`. -#}

{#- The UTF-8 bytes of `s` as an array of integers 0-255 (empty for ''; `sequence(1, 0)` counts down,
    so the empty case is its own branch). -#}
{% macro spark_utf8_bytes(s) -%}
    transform(array(hex(encode({{ s }}, 'UTF-8'))), h ->
        case when h = '' then cast(array() as array<int>)
        else transform(sequence(1, length(h) div 2), k -> cast(conv(substr(h, 2 * k - 1, 2), 16, 10) as int)) end)[0]
{%- endmacro %}

{#- Jaro-Winkler: Jaro with a match window of max(len)/2 - 1 (at least 0), the first unmatched byte
    of the other side in the window taken, transpositions halved (integer), 0 when either side is
    empty; Winkler's bonus (common prefix up to 4, weight 0.1) above 0.7 only. DuckDB computes
    sim + (prefix * 0.1) * (1 - sim) as one fused multiply-add (one rounding): emulated as the Postgres
    function does (Dekker's exact product, Knuth's exact sum), or the last bit differs. Not Java's
    Math.fma through reflect: reflect is non-deterministic to Spark, which then refuses the function in
    a join condition (int_identity_hubs). -#}
{% macro spark__string_similarity(a, b) -%}
    transform(array(named_struct('p', {{ spark_utf8_bytes(a) }}, 't', {{ spark_utf8_bytes(b) }})), s ->
        case
            when s.p is null or s.t is null then cast(null as double)
            when size(s.p) = 0 or size(s.t) = 0 then cast(0 as double)
            else transform(array(aggregate(
                sequence(0, size(s.p) - 1),
                named_struct('pm', array_repeat(false, size(s.p)), 'tm', array_repeat(false, size(s.t)), 'm', 0),
                (acc, i) -> transform(array(filter(sequence(0, size(s.t) - 1), j ->
                        abs(i - j) <= greatest(greatest(size(s.p), size(s.t)) div 2 - 1, 0)
                        and not acc.tm[j] and s.p[i] = s.t[j])), hits ->
                    case when size(hits) = 0 then acc
                    else named_struct(
                        'pm', transform(acc.pm, (v, k) -> v or k = i),
                        'tm', transform(acc.tm, (v, k) -> v or k = hits[0]),
                        'm', acc.m + 1) end)[0]
            )), mt ->
                case when mt.m = 0 then cast(0 as double)
                else transform(array(
                    (mt.m / size(s.p) + mt.m / size(s.t)
                        + (mt.m - size(filter(zip_with(filter(s.p, (x, k) -> mt.pm[k]), filter(s.t, (x, k) -> mt.tm[k]), (x, y) -> x <> y), d -> d)) div 2) / mt.m
                    ) / 3.0D), sim ->
                    case when sim > 0.7D then transform(array(named_struct(
                        'fa', aggregate(sequence(0, least(4, size(s.p), size(s.t)) - 1), named_struct('n', 0, 'going', true),
                            (acc, k) -> case when acc.going and s.p[k] = s.t[k] then named_struct('n', acc.n + 1, 'going', true)
                                else named_struct('n', acc.n, 'going', false) end).n * 0.1D,
                        'fb', 1.0D - sim)), f ->
                        transform(array(named_struct('fp', f.fa * f.fb, 'ta', 134217729.0D * f.fa, 'tb', 134217729.0D * f.fb)), g ->
                        transform(array(named_struct('ahi', g.ta - (g.ta - f.fa), 'bhi', g.tb - (g.tb - f.fb))), h ->
                        transform(array(named_struct('alo', f.fa - h.ahi, 'blo', f.fb - h.bhi, 'fs', g.fp + sim)), k ->
                        transform(array(named_struct(
                            'fe', ((h.ahi * h.bhi - g.fp) + h.ahi * k.blo + k.alo * h.bhi) + k.alo * k.blo,
                            't1', k.fs - g.fp)), m ->
                            k.fs + (((g.fp - (k.fs - m.t1)) + (sim - m.t1)) + m.fe)
                        )[0])[0])[0])[0])[0]
                    else sim end)[0]
                end)[0]
        end)[0]
{%- endmacro %}

{#- An edit distance on the bytes of `a` and `b`: null when either is null, the other's length when
    one is empty, else the distance `caller()` computes from `s.p` and `s.t` (both non-empty), as
    `{% call spark_byte_distance(a, b) %}...{% endcall %}` (the head of Levenshtein and
    Damerau-Levenshtein; byte_function_head is Postgres' counterpart). -#}
{% macro spark_byte_distance(a, b) -%}
    transform(array(named_struct('p', {{ spark_utf8_bytes(a) }}, 't', {{ spark_utf8_bytes(b) }})), s ->
        case
            when s.p is null or s.t is null then cast(null as int)
            when size(s.p) = 0 then size(s.t)
            when size(s.t) = 0 then size(s.p)
            else {{ caller() }}
        end)[0]
{%- endmacro %}

{#- Levenshtein distance on the bytes: insertions, deletions, substitutions (row by row). -#}
{% macro spark__edit_distance(a, b) -%}
    {%- call spark_byte_distance(a, b) -%}
            element_at(aggregate(
                sequence(1, size(s.p)),
                sequence(0, size(s.t)),
                (previous, i) -> aggregate(
                    sequence(1, size(s.t)),
                    array(i),
                    (current, j) -> concat(current, array(least(previous[j] + 1, current[j - 1] + 1,
                        previous[j - 1] + case when s.p[i - 1] = s.t[j - 1] then 0 else 1 end))))
            ), -1)
    {%- endcall %}
{%- endmacro %}

{#- Damerau-Levenshtein, unrestricted (Lowrance-Wagner, as DuckDB's and intent_damerau_levenshtein):
    the (len a + 2) x (len b + 2) table built row by row (row 0 and column 0 "infinity" = len a + len b,
    row i + 1 column j + 1 the distance of the first i and j bytes), `last_row` the last row of each
    byte value in a, `last_col` the last column of the current row whose byte equalled a's. -#}
{% macro spark__edit_distance_with_swaps(a, b) -%}
    {%- call spark_byte_distance(a, b) -%}
            element_at(element_at(aggregate(
                sequence(1, size(s.p)),
                named_struct(
                    'rows', array(
                        array_repeat(size(s.p) + size(s.t), size(s.t) + 2),
                        concat(array(size(s.p) + size(s.t)), sequence(0, size(s.t)))),
                    'last_row', array_repeat(0, 256)),
                (tbl, i) -> named_struct(
                    'rows', concat(tbl.rows, array(aggregate(
                        sequence(1, size(s.t)),
                        named_struct('row', array(size(s.p) + size(s.t), i), 'last_col', 0),
                        (acc, j) -> named_struct(
                            'row', concat(acc.row, array(least(
                                tbl.rows[i][j] + case when s.p[i - 1] = s.t[j - 1] then 0 else 1 end,
                                acc.row[j] + 1,
                                tbl.rows[i][j + 1] + 1,
                                tbl.rows[tbl.last_row[s.t[j - 1]]][acc.last_col]
                                    + (i - tbl.last_row[s.t[j - 1]] - 1) + 1 + (j - acc.last_col - 1)))),
                            'last_col', case when s.p[i - 1] = s.t[j - 1] then j else acc.last_col end)
                    ).row)),
                    'last_row', transform(tbl.last_row, (v, b8) -> case when b8 = s.p[i - 1] then i else v end))
            ).rows, -1), -1)
    {%- endcall %}
{%- endmacro %}
