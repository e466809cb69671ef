"""The attribution marts' floating sums do not depend on the order the engine adds the rows in (macro
``exact_sum``, macros/scoring.sql; docs/incremental.md "Scoring per person", the marts' list).

The three marts that sum ``attribution_touch_credits``' doubles (``attribution_conversion_credits``,
``channel_attribution``, ``channel_attribution_monthly``) as dbt compiles them, run by DuckDB with
four threads on two million touch credits of nine magnitudes: every run of a mart gives the same rows,
value for value. (``customer_rfm``'s monetary value is a sum of decimals, ``amount_reporting``,
exact without the macro.)
"""

from __future__ import annotations

import duckdb

from tests.dbt.conftest import run_dbt

MARTS = ("attribution_conversion_credits", "channel_attribution", "channel_attribution_monthly")
ROWS, CONVERSIONS, RUNS = 2_000_000, 5_000, 4


def compiled_marts(tmp_path) -> dict[str, str]:
    lake = tmp_path / "lake"
    lake.mkdir()
    done = run_dbt(tmp_path, lake, "compile", "--select", " ".join(MARTS))
    assert done.returncode == 0, done.stdout[-3000:]
    folder = tmp_path / "target" / "compiled" / "intent_warehouse" / "models" / "marts" / "attribution"
    return {mart: (folder / f"{mart}.sql").read_text() for mart in MARTS}


def touch_credits(con: duckdb.DuckDBPyConnection) -> None:
    """The relations the three marts read, in a database named as the profile's (``warehouse``)."""
    con.execute("create schema marts")
    con.execute("create schema staging")
    con.execute(f"""
        create table marts.attribution_touch_credits as
        select
            ['linear', 'time_decay', 'markov'][1 + i % 3] as attribution_model,
            'conv_' || (i % {CONVERSIONS}) as conversion_id,
            'person_' || (i % {CONVERSIONS}) as person_id,
            timestamp '2026-08-01' + to_days(cast(i % {CONVERSIONS} % 90 as integer)) as converted_at,
            ['Paid Search', 'Email', 'Direct', 'Referral'][1 + i % 4] as channel,
            'campaign_' || (i % 2) as campaign,
            'touch_' || i as touch_id,
            random() * pow(10, (i % 9) - 6) as credit,
            random() * pow(10, (i % 9) - 3) as credited_value
        from range({ROWS}) as r(i)
    """)  # fmt: skip
    con.execute("create table staging.channel_spend as select date '2026-08-01' as month,"
                " 'Paid Search' as channel, 120000.0 as spend, 'CNY' as currency")  # fmt: skip
    con.execute("create table staging.currency_rates as select 'CNY' as currency, 1.0 as rate_to_reporting")


def test_the_attribution_marts_sum_the_same_in_every_run(tmp_path):
    sql = compiled_marts(tmp_path)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("set threads = 4")
        touch_credits(con)
        for mart, query in sql.items():
            runs = {tuple(sorted(con.execute(query).fetchall())) for _ in range(RUNS)}
            assert len(runs) == 1, f"{mart}: {len(runs)} different results in {RUNS} runs of the same table"
            assert len(runs.pop()) > 1, mart  # rows to compare
    finally:
        con.close()
