{#- The functions DuckDB has and Postgres lacks, created by the on-run-start hook (dbt_project.yml)
    on the postgres target, in the target schema; nothing on the other targets.

    DuckDB's jaro_winkler_similarity, levenshtein and damerau_levenshtein count UTF-8 bytes (a
    Chinese character is 3 bytes), so these do too (convert_to(..., 'UTF8')), and give the same
    numbers: the matcher's levels, and so the people, are the same on both engines
    (tests/dbt/test_postgres_build.py compares them on random strings). Written in PL/pgSQL, not
    fuzzystrmatch: its levenshtein counts characters, stops at 255 of them, and it has neither
    Jaro-Winkler nor Damerau-Levenshtein.

    * intent_jaro_winkler: Jaro with a match window of max(len)/2 - 1 (at least 0), transpositions
      halved (integer), 0 when either side is empty; Winkler's bonus (common prefix up to 4, weight
      0.1) only above 0.7 (rapidfuzz's definition, which DuckDB ships).
    * intent_levenshtein: insertions, deletions, substitutions.
    * intent_damerau_levenshtein: the unrestricted Damerau-Levenshtein distance (Lowrance-Wagner:
      a transposed pair may also be edited in between, 'ca' -> 'abc' is 2), as DuckDB's. -#}
{% macro create_portable_functions() -%}
    {{ return(adapter.dispatch('create_portable_functions')()) }}
{%- endmacro %}

{#- The head of a function of two texts compared as their UTF-8 bytes (p, t; lengths pl, tl), up to
    its declare section's own variables: the three functions below share it. -#}
{% macro byte_function_head(name, returns) -%}
create or replace function {{ target.schema }}.{{ name }}(a text, b text) returns {{ returns }}
language plpgsql immutable strict parallel safe as $fn$
declare
    p bytea := convert_to(a, 'UTF8');
    t bytea := convert_to(b, 'UTF8');
    pl int := length(convert_to(a, 'UTF8'));
    tl int := length(convert_to(b, 'UTF8'));
{%- endmacro %}

{% macro default__create_portable_functions() -%}
{%- endmacro %}

{% macro postgres__create_portable_functions() -%}
create schema if not exists {{ target.schema }};

{{ byte_function_head('intent_jaro_winkler', 'double precision') }}
    bound int;
    matches int := 0;
    half_transpositions int := 0;
    i int;
    j int;
    p_matched boolean[];
    t_matched boolean[];
    similarity double precision;
    prefix int := 0;
    fa double precision;
    fb double precision;
    fp double precision;
    fe double precision;
    fs double precision;
    ft double precision;
    a_hi double precision;
    a_lo double precision;
    b_hi double precision;
    b_lo double precision;
begin
    if pl = 0 or tl = 0 then
        return 0;
    end if;
    bound := greatest(greatest(pl, tl) / 2 - 1, 0);
    p_matched := array_fill(false, array[pl]);
    t_matched := array_fill(false, array[tl]);
    for i in 0 .. pl - 1 loop
        for j in greatest(0, i - bound) .. least(tl - 1, i + bound) loop
            if not t_matched[j + 1] and get_byte(p, i) = get_byte(t, j) then
                p_matched[i + 1] := true;
                t_matched[j + 1] := true;
                matches := matches + 1;
                exit;
            end if;
        end loop;
    end loop;
    if matches = 0 then
        return 0;
    end if;
    j := 0;
    for i in 0 .. pl - 1 loop
        if p_matched[i + 1] then
            while not t_matched[j + 1] loop
                j := j + 1;
            end loop;
            if get_byte(p, i) <> get_byte(t, j) then
                half_transpositions := half_transpositions + 1;
            end if;
            j := j + 1;
        end if;
    end loop;
    half_transpositions := half_transpositions / 2;
    similarity := (matches::double precision / pl + matches::double precision / tl
        + (matches - half_transpositions)::double precision / matches) / 3.0;
    if similarity > 0.7 then
        while prefix < least(4, pl, tl) and get_byte(p, prefix) = get_byte(t, prefix) loop
            prefix := prefix + 1;
        end loop;
        -- DuckDB's build computes sim + (prefix * 0.1) * (1 - sim) as one fused multiply-add (one
        -- rounding): emulated here with Dekker's exact product and Knuth's exact sum, or the last
        -- bit differs (0.805 vs 0.8049999999999999) and a threshold can fall the other way.
        -- In doubles throughout: prefix * 0.1 as a numeric would be exact, and differ too.
        fa := prefix::double precision * 0.1::double precision;
        fb := 1.0::double precision - similarity;
        fp := fa * fb;
        ft := 134217729.0::double precision * fa;
        a_hi := ft - (ft - fa);
        a_lo := fa - a_hi;
        ft := 134217729.0::double precision * fb;
        b_hi := ft - (ft - fb);
        b_lo := fb - b_hi;
        fe := ((a_hi * b_hi - fp) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo;
        fs := fp + similarity;
        ft := fs - fp;
        ft := (fp - (fs - ft)) + (similarity - ft);
        similarity := fs + (ft + fe);
    end if;
    return similarity;
end
$fn$;

{{ byte_function_head('intent_levenshtein', 'integer') }}
    previous int[];
    current int[];
    i int;
    j int;
begin
    if pl = 0 then return tl; end if;
    if tl = 0 then return pl; end if;
    previous := array(select generate_series(0, tl));
    for i in 1 .. pl loop
        current := array_fill(0, array[tl + 1]);
        current[1] := i;
        for j in 1 .. tl loop
            current[j + 1] := least(previous[j + 1] + 1, current[j] + 1,
                previous[j] + case when get_byte(p, i - 1) = get_byte(t, j - 1) then 0 else 1 end);
        end loop;
        previous := current;
    end loop;
    return previous[tl + 1];
end
$fn$;

{{ byte_function_head('intent_damerau_levenshtein', 'integer') }}
    width int;
    infinity int;
    d int[];        -- (pl + 2) x (tl + 2), row-major, 0-based cell (i, j) at i * width + j + 1
    last_row int[]; -- per byte value: the last row whose byte was it
    last_col int;
    i int;
    j int;
    k int;
    l int;
    cost int;
begin
    if pl = 0 then return tl; end if;
    if tl = 0 then return pl; end if;
    width := tl + 2;
    infinity := pl + tl;
    d := array_fill(0, array[(pl + 2) * width]);
    last_row := array_fill(0, array[256]);
    d[1] := infinity;
    for i in 0 .. pl loop
        d[(i + 1) * width + 1] := infinity;
        d[(i + 1) * width + 2] := i;
    end loop;
    for j in 0 .. tl loop
        d[j + 2] := infinity;
        d[width + j + 2] := j;
    end loop;
    for i in 1 .. pl loop
        last_col := 0;
        for j in 1 .. tl loop
            k := last_row[get_byte(t, j - 1) + 1];
            l := last_col;
            if get_byte(p, i - 1) = get_byte(t, j - 1) then
                cost := 0;
                last_col := j;
            else
                cost := 1;
            end if;
            d[(i + 1) * width + j + 2] := least(
                d[i * width + j + 1] + cost,
                d[(i + 1) * width + j + 1] + 1,
                d[i * width + j + 2] + 1,
                d[k * width + l + 1] + (i - k - 1) + 1 + (j - l - 1));
        end loop;
        last_row[get_byte(p, i - 1) + 1] := i;
    end loop;
    return d[(pl + 1) * width + tl + 2];
end
$fn$;
{%- endmacro %}

{#- `dbt run-operation install_portable_functions`: the same functions without a run or build
    (dbt show and run-operation run no on-run-start hook). -#}
{% macro install_portable_functions() -%}
    {%- set sql = create_portable_functions() -%}
    {%- if sql | trim -%}
        {%- do run_query(sql) -%}
    {%- endif -%}
{%- endmacro %}
