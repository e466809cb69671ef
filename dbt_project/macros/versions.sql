{#- latest_version(relation, partition_by, content, newest_first=[]): a select of the rows of `relation`
    (a CTE name) that are the latest version of their record, with the column version_rank (always 1).
    Every CRM export repeats the history of its report, so each current-state CRM staging model
    keeps one row per record with this macro, and each versions model one per record and export
    interval.

    The one tie-break rule, newest first:
      1. `newest_first`: the record's own change time where the export has one (leads: Last
         Modified Date), nulls last;
      2. the export interval (_interval_start): a later export is a later state;
      3. the row's content: a hash of `content` (the columns a version is made of, renamed and cast;
         those of `partition_by` left out, they are equal within a partition), the greater first. Two
         rows of one record with the same change time in one export are told apart by what they say,
         never by where the file put them: an export delivered again in another row order, or split
         into other files, keeps the record's state (docs/incremental.md, "CRM staging");
      4. then _loaded_at, _source_file, _row_number (the last row of the file): they decide only
         between rows of equal content, so they choose the lineage columns alone.
    The lake's metadata columns make the order total per raw row, so the choice never depends on the
    engine's sort. A business column such as closed_at is not a tie-break: a later export is a
    later state, whatever it says. -#}
{% macro latest_version(relation, partition_by, content, newest_first=[]) -%}
    {%- set order_by = [] -%}
    {%- for column in newest_first -%}
        {%- do order_by.append(column ~ ' desc nulls last') -%}
    {%- endfor -%}
    {%- do order_by.append('_interval_start desc') -%}
    {%- do order_by.append(identity_row_hash(content | reject('in', partition_by) | list) ~ ' desc') -%}
    {%- do order_by.extend(['_loaded_at desc', '_source_file desc', '_row_number desc']) -%}
    {{ first_row(relation, partition_by, order_by, 'version_rank') }}
{%- endmacro %}

{#- The columns a version of a CRM `object` (leads, opportunities, orders, activities) is made of, as
    its versions model names and casts them, its id and the lake's lineage aside: the versions model
    selects them in this order, and latest_version hashes them for its tie-break (both the versions
    and the current-state model, so the rule is one). -#}
{% macro crm_version_content(object) -%}
    {%- set content = {
        'leads': ['email', 'phone', 'phone_raw', 'full_name', 'company', 'job_title', 'industry',
                  'company_size', 'region', 'owner', 'status', 'lead_source', 'has_opted_out_of_email',
                  'created_at', 'updated_at', 'last_modified_at'],
        'opportunities': ['lead_id', 'opportunity_name', 'stage', 'is_closed', 'is_won', 'amount', 'currency',
                          'created_at', 'closed_at', 'stage_changed_at'],
        'orders': ['lead_id', 'amount', 'currency', 'email', 'ordered_at'],
        'activities': ['lead_id', 'activity_type', 'subject', 'owner', 'outcome', 'outcome_result', 'activity_at'],
    } -%}
    {{- return(content[object]) -}}
{%- endmacro %}

{#- The select that ends a CRM versions model: its id (`id_column`) and crm_version_content's columns,
    then the lineage, from `relation` (latest_version's result): the columns named again to leave
    version_rank out, since a portable select has no `* exclude`. -#}
{% macro crm_version_select(object, id_column, relation) -%}
    select
        {{ id_column }},
        {%- for column in crm_version_content(object) %}
        {{ column }},
        {%- endfor %}
        {{ lake_lineage_columns() }}
    from {{ relation }}
{%- endmacro %}

{#- first_copy(relation, partition_by): a select of the first copy of each event of `relation` (a
    CTE name), with the column copy_number (always 1). The counterpart of latest_version for sources
    whose rows never change (GA4 events, SendGrid webhook posts, form submissions): a repeat is a copy
    (a re-export, a webhook retry), so the first one is kept: the copy of the earliest export
    interval (_interval_start), then the first loaded (_loaded_at), then _source_file, then
    _row_number (unique per raw row). The interval comes first so that the choice depends on the
    lake alone: a backfill that extracts an old day again (its rows loaded anew) or a partition
    delivered late for an old day changes no copy's rank against another day's, and an incremental
    run can keep the choice exact (not_yet_stored). -#}
{% macro first_copy(relation, partition_by) -%}
    {{ first_row(relation, partition_by, first_copy_order(), 'copy_number') }}
{%- endmacro %}

{#- The order of first_copy, earliest first (email's id numbering follows it too). -#}
{% macro first_copy_order() -%}
    {{- return(['_interval_start', '_loaded_at', '_source_file', '_row_number']) -}}
{%- endmacro %}

{#- first_row(relation, partition_by, order_by, rank_column): the rows of `relation` that come first
    in their partition by `order_by` (a list of "column [desc] [nulls last]"), with `rank_column`
    (always 1): what latest_version and first_copy share. -#}
{% macro first_row(relation, partition_by, order_by, rank_column) -%}
    select *
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ partition_by | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as {{ rank_column }}
        from {{ relation }}
    ) as ranked
    where {{ rank_column }} = 1
{%- endmacro %}
