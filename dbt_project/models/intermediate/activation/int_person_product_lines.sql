{#- The product line each person is most interested in, for lead routing: every page view is
    credited to the first line of the seed product_lines (by priority) whose page_pattern (SQL
    LIKE on the page path) it matches; the line with the most views wins, ties to the line of the
    higher-priority rule, then by name. People with no matching page view have no row. -#}
with

page_views as (
    select event_id, person_id, page_path
    from {{ ref('int_events_unified') }}
    where event_type = 'page_view' and page_path is not null
),

lines as (
    select priority, product_line, page_pattern
    from {{ ref('product_lines') }}
),

credited as (
    select
        page_views.person_id,
        lines.product_line,
        lines.priority,
        row_number() over (
            partition by page_views.event_id order by lines.priority
        ) as rule_rank
    from page_views
    inner join lines
        on page_views.page_path like lines.page_pattern
),

per_line as (
    select
        person_id,
        product_line,
        min(priority) as priority,
        count(*) as page_views
    from credited
    where rule_rank = 1
    group by person_id, product_line
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_id order by page_views desc, priority, product_line
        ) as interest_rank
    from per_line
)

select
    cast(person_id as {{ sql_type('varchar') }}) as person_id,
    cast(product_line as {{ sql_type('varchar') }}) as product_line,
    cast(page_views as integer) as page_views
from ranked
where interest_rank = 1
