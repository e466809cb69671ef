"""bench/scoring_rule_parts.py: the compiled model is cut at its CTEs correctly (comments with apostrophes and
parentheses, quoted parentheses), and a CTE replaced by a stored copy gives the same result in DuckDB."""

from __future__ import annotations

import duckdb

from tests.benches import load_bench

parts = load_bench("scoring_rule_parts")

SQL = """
with
-- imports: one CTE per relation (the style guide's shape), the person's leads

hits as (
    select * from (values (1, 'a(b'), (2, 'it''s'), (3, ')')) as t(id, label)
),

-- what sales did with the person's CRM leads (a comment's apostrophe)
counted as (
    select id, label, length(label) as size  -- a trailing ( comment
    from hits
    where label <> '('
),

final as (
    select id, size * 2 as doubled from counted
)

select * from final
"""


def test_split_cuts_every_cte_and_the_final_select():
    head, ctes, tail = parts.split_ctes(SQL)
    assert list(ctes) == ["hits", "counted", "final"]
    assert tail.strip() == "select * from final"
    assert "values (1, 'a(b'), (2, 'it''s'), (3, ')')" in ctes["hits"]
    assert "where label <> '('" in ctes["counted"]
    assert head.strip() == ""


def test_a_cte_stored_and_read_back_gives_the_whole_result():
    head, ctes, tail = parts.split_ctes(SQL)
    con = duckdb.connect()
    whole = con.execute(SQL).fetchall()
    con.execute(f"create temp table stored as {parts.assemble(head, ctes, 'select * from counted')}")
    rest = dict(ctes, counted="select * from stored")
    assert sorted(con.execute(parts.assemble(head, rest, tail)).fetchall()) == sorted(whole)
    assert sorted(whole) == [(1, 6), (2, 8), (3, 2)]
