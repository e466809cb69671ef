"""The scoring models' floating sums do not depend on the order the engine adds the rows in (macro
``exact_sum``, macros/scoring.sql; docs/incremental.md "Scoring per person").

DuckDB's hash aggregation splits a group's rows between its threads and adds the partial sums in the
order the threads finish, so a plain ``sum`` of doubles differs in its last bits from one run to the
next (two builds of the same lake differed in ``int_lead_score_rules.rule_points``), and an
incremental build could never equal a full refresh value for value. The macro as dbt renders it, run
by DuckDB on three million doubles of nine magnitudes with four threads: every run gives the same
sums, and they are the exact sums of the values rounded to nine decimal places (to a double's last bit).
"""

from __future__ import annotations

import math
from decimal import Decimal

from tests.dbt.conftest import run_dbt

ROWS, GROUPS, RUNS = 3_000_000, 7, 6


def rendered_sum(tmp_path) -> str:
    lake = tmp_path / "lake"
    lake.mkdir()
    done = run_dbt(tmp_path, lake, "compile", "--inline",
                   "select g, {{ exact_sum('v') }} as total from numbers group by g order by g")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout.split("Compiled inline node is:", 1)[1].strip()


def test_exact_sum_is_the_same_in_every_run_and_exact(tmp_path):
    import duckdb

    sql = rendered_sum(tmp_path)
    con = duckdb.connect()
    try:
        con.execute("set threads = 4")
        con.execute(f"create table numbers as select i % {GROUPS} as g,"
                    f" random() * pow(10, (i % 9) - 3) as v from range({ROWS}) as r(i)")  # fmt: skip
        runs = {tuple(con.execute(sql).fetchall()) for _ in range(RUNS)}
        assert len(runs) == 1, f"{len(runs)} different sums in {RUNS} runs of the same table"
        exact: dict[int, Decimal] = dict.fromkeys(range(GROUPS), Decimal(0))
        step = Decimal("1e-9")
        for g, v in con.execute("select g, v from numbers").fetchall():
            exact[g] += Decimal(v).quantize(step)
    finally:
        con.close()
    # exact up to the last bit of the double the decimal sum is cast back to (DuckDB's cast is 1 ulp off at times)
    sums = dict(runs.pop())
    assert sorted(sums) == sorted(exact)
    assert all(math.isclose(sums[g], float(exact[g]), rel_tol=1e-15) for g in exact), (sums, exact)
