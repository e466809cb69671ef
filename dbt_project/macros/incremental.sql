{#- Incremental days (issue #20, docs/incremental.md): which raw partitions a daily build reads.

    A run for the interval [interval_start, interval_end) reads the lake partitions dt=D with
    interval_start - var lookback_days <= D < interval_end: its own day and the lookback_days
    before it, so a partition that was replaced after its own build (GA4 rewrites a day's export
    for up to 72 hours; an extract re-run on its own) is merged again, as dbt-ga4 re-reads its
    static_incremental_days. Without an interval (a hand run) every partition is read. -#}

{#- The window as two ISO dates [first, end), or none without an interval. -#}
{% macro lake_window_dates() -%}
    {%- set start = interval_bound('interval_start') -%}
    {%- set end = interval_bound('interval_end') -%}
    {%- if not start or not end -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set lookback = var('lookback_days') | int -%}
    {%- if lookback < 0 -%}
        {{- exceptions.raise_compiler_error("var lookback_days must be 0 or more, got " ~ lookback) -}}
    {%- endif -%}
    {%- set dt = modules.datetime -%}
    {%- set first = dt.datetime.fromisoformat(start | string).date() - dt.timedelta(days=lookback) -%}
    {%- set end_at = dt.datetime.fromisoformat(end | string) -%}
    {#- partitions are days: an interval ending inside a day still reads that day's partition -#}
    {%- set end_day = end_at.date() if end_at.time() == dt.time(0, 0) else end_at.date() + dt.timedelta(days=1) -%}
    {{- return([first.isoformat(), end_day.isoformat()]) -}}
{%- endmacro %}

{#- A SQL condition: `column` (a date) is in the window; true without an interval. -#}
{% macro in_lake_window(column) -%}
    {%- set window = lake_window_dates() -%}
    {%- if window -%}
        ({{ column }} >= cast('{{ window[0] }}' as date) and {{ column }} < cast('{{ window[1] }}' as date))
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- The raw rows of the window's partitions of source(source_name, table_name), as a relation
    (a parenthesised select). On DuckDB the lake's files are listed (glob(), which opens none of
    them), the window's dt=… folders chosen by name, and only their files read: read_parquet over
    every dt=* folder would open each file's footer to bind the union of their columns, however the
    rows were filtered. Elsewhere (the postgres target's loaded raw tables) the rows are filtered
    on _interval_start, the same day. -#}
{% macro lake_window(source_name, table_name) -%}
    {{- return(adapter.dispatch('lake_window')(source_name, table_name)) -}}
{%- endmacro %}

{% macro default__lake_window(source_name, table_name) -%}
    (select * from {{ source(source_name, table_name) }} where {{ in_lake_window('_interval_start') }})
{%- endmacro %}

{#- DuckDB: the lake's files of raw/<table_name>/, listed with glob() (no file is opened), as
    [day, quoted path] pairs in day order. -#}
{% macro lake_files(table_name) -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set pattern = lake_dir() ~ '/raw/' ~ table_name ~ '/dt=*/*.parquet' -%}
    {%- set listed = run_query("select file from glob('" ~ pattern | replace("'", "''") ~ "') order by file") -%}
    {%- set files = [] -%}
    {%- for file in listed.columns[0].values() -%}
        {%- set day = modules.re.search('/dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', file) -%}
        {%- if day -%}
            {%- do files.append([day.group(1), "'" ~ file | replace("'", "''") ~ "'"]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(files) -}}
{%- endmacro %}

{% macro duckdb__lake_window(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set window = lake_window_dates() -%}
    {%- if not window or not execute -%}
        (select * from {{ relation }} where {{ in_lake_window('_interval_start') }})
    {%- else -%}
        {%- set listed = lake_files(table_name) -%}
        {%- set files = [] -%}
        {%- for day, file in listed -%}
            {%- if day >= window[0] and day < window[1] -%}
                {%- do files.append(file) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if files -%}
            (select * from read_parquet([{{ files | join(', ') }}], hive_partitioning = false, union_by_name = true))
        {%- elif listed -%}
            {#- no partition in the window (a day without data): no rows, the columns bound from the newest
                partition's files only (the source itself would open the footer of every file in the lake,
                and fail on any unreadable old one) -#}
            {%- set newest = listed[-1][0] -%}
            (select * from read_parquet([
                {%- for day, file in listed if day == newest -%}{{ file }}{{ ', ' if not loop.last }}{%- endfor -%}
            ], hive_partitioning = false, union_by_name = true) where 1 = 0)
        {%- else -%}
            (select * from {{ relation }} where 1 = 0)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The config of an incremental staging model of source(source_name, table_name): delete+insert on
    `unique_key`, the window's rows removed first (delete_lake_window_rows). Called at the top of
    the model, in place of its own config(). -#}
{% macro lake_staging_config(source_name, table_name, unique_key) -%}
    {{ config(
        materialized=incremental_or_table(),
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_lake_window_rows('" ~ source_name ~ "', '" ~ table_name ~ "') }}",
    ) }}
{%- endmacro %}

{#- The rows an incremental staging model of source(source_name, table_name) reads, as a select:
    the window's partitions (lake_window) on an incremental run, every partition on a full build. -#}
{% macro lake_rows(source_name, table_name) -%}
    {%- if is_incremental() -%}
    select * from {{ lake_window(source_name, table_name) }} as window_partitions
    {%- else -%}
    select * from {{ source(source_name, table_name) }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` (a CTE of deduplicated rows) whose `key` the model does not store from an
    earlier export interval, as a select; all of them on a full build. The pre_hook
    (delete_lake_window_rows) left only the rows of partitions outside the window: a stored copy of
    an older partition comes first in first_copy's order and stays; one of a newer partition (a
    backfill of an old day, a partition delivered late for it) comes after this run's copy, which
    replaces it (delete+insert on `key`), as a full build's first_copy would choose. -#}
{% macro not_yet_stored(relation, key) -%}
    {%- if is_incremental() -%}
    select {{ relation }}.*
    from {{ relation }}
    where not exists (
        select 1 from {{ this }} as stored
        where stored.{{ key }} = {{ relation }}.{{ key }}
            and stored._interval_start < {{ relation }}._interval_start
    )
    {%- else -%}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of an incremental staging model of source(source_name, table_name): remove the rows
    that came from the window's partitions, which the run reads again (a partition replaced with
    fewer rows loses them here, as a full build would), and the rows of partitions the lake no
    longer has (purged by retention, INTENT_RETENTION_RAW_DAYS: the warehouse forgets them as a
    full build would). Nothing on a full build. -#}
{% macro delete_lake_window_rows(source_name, table_name) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ in_lake_window('_interval_start') }}
            or _interval_start not in ({{ lake_partition_days(source_name, table_name) }})
    {%- endif -%}
{%- endmacro %}

{#- The days of the partitions the lake has, as a SQL list (a subquery elsewhere than DuckDB). -#}
{% macro lake_partition_days(source_name, table_name) -%}
    {{- return(adapter.dispatch('lake_partition_days')(source_name, table_name)) -}}
{%- endmacro %}

{% macro default__lake_partition_days(source_name, table_name) -%}
    select distinct _interval_start from {{ source(source_name, table_name) }}
{%- endmacro %}

{% macro duckdb__lake_partition_days(source_name, table_name) -%}
    {%- set days = [] -%}
    {%- for day, file in lake_files(table_name) if ("cast('" ~ day ~ "' as date)") not in days -%}
        {%- do days.append("cast('" ~ day ~ "' as date)") -%}
    {%- endfor -%}
    {{- days | join(', ') if days else 'select cast(null as date) where 1 = 0' -}}
{%- endmacro %}

{#- The browsers with rows of `events` (user_pseudo_id, _interval_start) in the window's
    partitions, as a select: the first set every model incremental per browser recomputes. -#}
{% macro browsers_in_window(events) -%}
    select user_pseudo_id
    from {{ events }}
    where {{ in_lake_window('_interval_start') }}
{%- endmacro %}

{#- The CTE touched_browsers of a model incremental per browser over `events` (rows with
    user_pseudo_id and _interval_start): the browsers with rows in the window's partitions, and those
    whose stored rows came from a partition `events` no longer has (retention purged it), which are
    recomputed without them (a browser left with none loses its rows in the model's post_hook). -#}
{% macro touched_browsers_of_partitions(events) -%}
touched_browsers as (
    {{ browsers_in_window(events) }}
    union
    select stored.user_pseudo_id
    from {{ this }} as stored
    where stored._interval_start not in (select distinct _interval_start from {{ events }})
),
{%- endmacro %}

{#- The rows of `relation` (a model with user_pseudo_id) of the browsers a daily run recomputes
    (`recompute`: the CTE `browsers`, touched_browsers in the incremental web session models,
    recomputed_browsers in int_web_sessions and int_events_unified), as a select; every row on a
    full build. -#}
{% macro rows_of_touched_browsers(relation, recompute, browsers='touched_browsers') -%}
    {%- if recompute -%}
    select *
    from {{ relation }}
    where user_pseudo_id in (select user_pseudo_id from {{ browsers }})
    {%- else -%}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- A SQL condition: `column` (a date) is after the window (a partition newer than the run's: a backfill of
    an old day); false without an interval. -#}
{% macro after_lake_window(column) -%}
    {%- set window = lake_window_dates() -%}
    {%- if window -%}
        ({{ column }} >= cast('{{ window[1] }}' as date))
    {%- else -%}
        (1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- The CTEs window_events, replaced and reopened of int_web_session_events' daily run over `events`
    (stg_web__events), docs/incremental.md ("Web sessions per touched session"):
    - window_events: staging's rows of the window's partitions, every event the run adds or replaces;
    - replaced: the stored rows staging replaced or lost: of the window's partitions (read again), of a
      partition the lake no longer has (purged), or stored from a newer partition while staging now holds
      the event from the window (a backfill: not_yet_stored);
    - reopened: per browser with such an event without a ga_session_id (either side), `reopened_at`: the
      start of its first stored session without an id that ended at or after the earliest such event less
      the timeout, else that moment. A session ends where more than the timeout passes to the next event,
      so the stored sessions that ended before it keep their events, their start and their key whatever
      the window brought; from reopened_at on, the browser's events are sessionised again (its first
      event there starts a session in a full build too: more than the timeout after the last kept one).
    Late events are changed events like any other: the earliest one, however old, sets the browser's cut. -#}
{% macro sessions_reopened(events) -%}
window_events as (
    select * from {{ events }} where {{ in_lake_window('_interval_start') }}
),

replaced as (
    select stored.user_pseudo_id, stored.event_at, stored.ga_session_id
    from {{ this }} as stored
    where {{ in_lake_window('stored._interval_start') }}
        or stored._interval_start not in (select distinct _interval_start from {{ events }})
        or ({{ after_lake_window('stored._interval_start') }}
            and stored.event_id in (select event_id from window_events))
),

cut as (
    select
        user_pseudo_id,
        {{ dbt.dateadd('minute', -var('session_timeout_minutes'), 'min(event_at)') }} as cut_at
    from (
        select user_pseudo_id, event_at from window_events where ga_session_id is null
        union all
        select user_pseudo_id, event_at from replaced where ga_session_id is null
    ) as changed
    group by user_pseudo_id
),

stored_sessions as (
    select stored.user_pseudo_id, min(stored.event_at) as started_at, max(stored.event_at) as ended_at
    from {{ this }} as stored
    inner join cut
        on cut.user_pseudo_id = stored.user_pseudo_id
    where stored.ga_session_id is null
    group by stored.user_pseudo_id, stored.session_key
),

reopened as (
    select
        cut.user_pseudo_id,
        case
            when min(stored_sessions.started_at) < cut.cut_at then min(stored_sessions.started_at)
            else cut.cut_at
        end as reopened_at
    from cut
    left join stored_sessions
        on stored_sessions.user_pseudo_id = cut.user_pseudo_id
        and stored_sessions.ended_at >= cut.cut_at
    group by cut.user_pseudo_id, cut.cut_at
),
{%- endmacro %}

{#- post_hook of int_web_session_events (unique key event_id): the stored rows staging no longer has:
    of a partition the lake no longer has (purged), or of a window's partition read again without them. -#}
{% macro delete_session_events_gone(events) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where _interval_start not in (select distinct _interval_start from {{ events }})
            or ({{ in_lake_window('_interval_start') }}
                and event_id not in (select event_id from {{ events }} where {{ in_lake_window('_interval_start') }}))
    {%- endif -%}
{%- endmacro %}

{#- post_hook of int_web_session_events: the rows whose partition `events` (staging) no longer has
    (a browser whose every event was purged is in no new batch, so delete+insert leaves its rows). -#}
{% macro delete_rows_of_vanished_partitions(events) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where _interval_start not in (select distinct _interval_start from {{ events }})
    {%- endif -%}
{%- endmacro %}

{#- The browsers of a model with one row per session (session_key, user_pseudo_id, events: the
    session's event count when the row was computed) whose stored sessions `session_events`
    (int_web_session_events) no longer has, or has with another number of events: a partition purged
    by retention removed a session or part of it (events only arrive from the window's partitions,
    whose browsers are recomputed anyway), as a select of user_pseudo_id. It counts one column of
    the session events and scans the stored sessions: it grows with the tables. -#}
{% macro browsers_with_changed_sessions(session_events) -%}
    select stored.user_pseudo_id
    {{ stored_against_counted_sessions(session_events, 'left') }}
{%- endmacro %}

{#- The from and where of a comparison of the stored sessions (`stored`: session_key, events) with
    `session_events` counted per session (`now_stored`), `join` being left or full outer: the sessions
    whose number of events differs (or, full outer, that are new). -#}
{% macro stored_against_counted_sessions(session_events, join) -%}
    from {{ this }} as stored
    {{ join }} join (
        select session_key, count(*) as events
        from {{ session_events }}
        group by session_key
    ) as now_stored
        on now_stored.session_key = stored.session_key
    where now_stored.events is distinct from stored.events
{%- endmacro %}

{#- The CTE changed_sessions (session_key, user_pseudo_id) of int_web_session_traffic's daily run over
    `session_events` (int_web_session_events): the sessions whose events differ from those their stored
    row was computed from. A session's events change only by an event of the window's partitions (new,
    late or replaced: its row is in the window) or by gaining or losing events (sessionised again
    upstream, two sessions joined by a late event, one cut by a lost event, a purged partition): then its
    number of events is not the stored `events`, or it is new, or gone. The count reads one column of
    every session event, as browsers_with_changed_sessions. -#}
{% macro sessions_changed(session_events) -%}
changed_sessions as (
    select session_key, user_pseudo_id
    from {{ session_events }}
    where {{ in_lake_window('_interval_start') }}
    union
    select
        coalesce(stored.session_key, now_stored.session_key) as session_key,
        coalesce(stored.user_pseudo_id, {{ browser_of_session('now_stored.session_key') }}) as user_pseudo_id
    {{ stored_against_counted_sessions(session_events, 'full outer') }}
),
{%- endmacro %}

{#- A session's own traffic is a click (int_web_session_traffic): any other than (direct) / (none); false
    without own traffic (both null). -#}
{% macro is_own_click(source, medium) -%}
    not (
        coalesce(lower(trim({{ source }})), '(direct)') = '(direct)'
        and coalesce(lower(trim({{ medium }})), '(none)') in ('(none)', '(not set)')
    )
{%- endmacro %}

{#- post_hook of int_web_session_traffic: the sessions `session_events` no longer has. -#}
{% macro delete_sessions_gone(session_events) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where session_key not in (select session_key from {{ session_events }})
    {%- endif -%}
{%- endmacro %}

{#- int_events_unified: the browser of a page view's session_key (`<user_pseudo_id>:<ga_session_id>`
    or `<user_pseudo_id>:t<epoch>`, int_web_session_events): everything before the last colon. -#}
{% macro browser_of_session(session_key) -%}
    regexp_replace({{ session_key }}, ':[^:]*$', '')
{%- endmacro %}

{#- post_hook of int_events_unified: the page views `page_views` (int_web_page_views) no longer has,
    and those of a browser whose node `people` (int_people_resolved) no longer has. -#}
{% macro delete_page_views_gone(page_views, people) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where source = 'web'
            and (
                event_id not in (select 'web:' || event_id from {{ page_views }})
                or {{ node_key('web', browser_of_session('session_key')) }} not in (select node_key from {{ people }})
            )
    {%- endif -%}
{%- endmacro %}

{#- CRM staging (docs/incremental.md, "CRM staging"). Every CRM export repeats the history of its report,
    and a record's current state is its latest version over every export (macros/versions.sql). Each
    object has two models: `stg_crm__<object>_versions`, one row per record and export interval (the
    latest row within that interval), incremental as the other staging models (the window's partitions
    read again, the rows of purged partitions deleted: lake_staging_config); and the current-state
    model, incremental per record (crm_current_config): a daily run computes again, from the versions
    table, only the records with a version in the window's partitions or whose stored current row came
    from a partition read again or purged (then the version before it comes back, as a full build gives,
    or the record goes when it has none left). The latest of a record's per-export latest rows is its
    latest row over every export (the tie-break order is total: versions.sql), so both paths agree. -#}

{#- The config of a current-state CRM staging model over `versions` (a model name) of
    source(source_name, table_name), keyed by `key`: called at the top of the model, in place of its own
    config(). -#}
{% macro crm_current_config(versions, source_name, table_name, key) -%}
    {{ config(
        materialized=incremental_or_table(),
        unique_key=key,
        incremental_strategy='delete+insert',
        pre_hook="{{ crm_records_touched(ref('" ~ versions ~ "'), '" ~ source_name ~ "', '" ~ table_name ~ "', '" ~ key ~ "') }}",
        post_hook="{{ crm_records_touched_done() }}",
    ) }}
{%- endmacro %}

{#- pre_hook of a current-state CRM staging model: the scratch `<this>__touched` (`key`) of the records a
    daily run computes again (a version in the window's partitions of `versions`; a stored row whose
    partition is in the window, so read again, or gone from the lake), and their stored rows deleted (a
    record left without a version stays deleted). Nothing on a full build. -#}
{% macro crm_records_touched(versions, source_name, table_name, key) -%}
    {%- if is_incremental() -%}
    {%- set touched = identity_scratch('touched') -%}
    {%- set sql -%}
    drop table if exists {{ touched }};
    create table {{ touched }} as
    select {{ key }} from {{ versions }} where {{ in_lake_window('_interval_start') }}
    union
    select {{ key }} from {{ this }}
    where {{ in_lake_window('_interval_start') }}
        or _interval_start not in ({{ lake_partition_days(source_name, table_name) }});
    delete from {{ this }} where {{ key }} in (select {{ key }} from {{ touched }})
    {%- endset -%}
    {{- hook_statements(sql) -}}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `versions` a current-state CRM staging model computes from, as a select: those of the
    records in `<this>__touched` on a daily run, every row on a full build. -#}
{% macro crm_versions_to_compute(versions, key) -%}
    select * from {{ versions }}
    {%- if is_incremental() %}
    where {{ key }} in (select {{ key }} from {{ identity_scratch('touched') }})
    {%- endif -%}
{%- endmacro %}

{#- post_hook of a current-state CRM staging model: log how many records the daily run computed again,
    drop the scratch. -#}
{% macro crm_records_touched_done() -%}
    {%- if execute and is_incremental() -%}
        {%- set touched = identity_scratch('touched') -%}
        {%- set counts = run_query('select (select count(*) from ' ~ touched ~ '), (select count(*) from ' ~ this ~ ')').rows[0] -%}
        {{ log(this.identifier ~ ': ' ~ counts[0] ~ ' records computed again (a version in the window or a stored one read again or purged); ' ~ counts[1] ~ ' stored', info=true) }}
        drop table if exists {{ touched }}
    {%- endif -%}
{%- endmacro %}
