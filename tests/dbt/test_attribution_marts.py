"""The attribution marts on the hand-written lake: the dbt Python model runs intent_pipeline.attribution
on the warehouse's journeys, and its credits are what the library gives for the same journeys."""

from __future__ import annotations

import math

import pytest
from intent_pipeline import attribution as A

pytestmark = pytest.mark.slow


def journeys(warehouse) -> list[A.Journey]:
    rows = warehouse.query(
        "select journey_id, is_conversion, conversion_value, touch_id, channel, age_days"
        " from intermediate.int_attribution_journeys order by journey_id, touch_number"
    )
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return [
        A.Journey(
            journey_id=key,
            path=tuple(r[4] for r in touches),
            touch_ids=tuple(r[3] for r in touches),
            ages=tuple(r[5] for r in touches),
            converted=touches[0][1],
            value=touches[0][2] or 0.0,
        )
        for key, touches in grouped.items()
    ]


def test_carols_win_is_credited_by_every_model_and_sums_to_one(warehouse):
    # Carol: a trial form (Organic Search), an ad click (Paid Search), a login (Organic Search), an
    # email click, then the win worth 150,000 CNY
    credits = {
        (model, channel): (credit, value)
        for model, channel, credit, value in warehouse.query(
            "select attribution_model, channel, credit, credited_value from marts.attribution_conversion_credits"
            " where conversion_id = 'crm:006carol:won'"
        )
    }
    assert {m for m, _ in credits} == set(A.MODELS)
    for model in A.MODELS:
        mine = [v for (m, _), v in credits.items() if m == model]
        assert math.fsum(c for c, _ in mine) == pytest.approx(1.0, abs=1e-12), model
        assert math.fsum(v for _, v in mine) == pytest.approx(150_000, abs=1e-6), model
    assert credits["first_touch", "Organic Search"][0] == 1.0
    assert credits["last_touch", "Email"][0] == 1.0
    # position-based over four touches: 40 % first, 10 % each middle touch, 40 % last
    assert credits["position_based", "Organic Search"][0] == pytest.approx(0.5)
    assert credits["position_based", "Paid Search"][0] == pytest.approx(0.1)
    assert credits["position_based", "Email"][0] == pytest.approx(0.4)


def test_the_dbt_python_model_equals_the_library_on_the_same_journeys(warehouse):
    expected, chain, _ = A.attribute_journeys(journeys(warehouse), half_life=7.0)
    got = warehouse.query(
        "select conversion_id, touch_id, attribution_model, credit, credited_value, channel"
        " from marts.attribution_touch_credits"
    )
    got = {(c, t, m, ch): (credit, value) for c, t, m, credit, value, ch in got}
    expected = {(c, t, m, ch): (credit, value) for c, t, m, credit, value, ch in expected}
    assert set(got) == set(expected)
    per_model = {m: sum(1 for _, _, model, _ in got if model == m) for m in A.MODELS}
    # single-touch models: 1 row; the touch-level ones: Carol's 4 touches; markov: one per channel
    # with a positive removal effect, a channel's credit with no touch
    assert per_model == {**per_model, "first_touch": 1, "last_touch": 1, "last_non_direct": 1, "linear": 4,
                         "position_based": 4, "time_decay": 4, "markov_path": 4, "shapley_path": 4,
                         "markov": sum(1 for e in chain.removal_effects.values() if e > 0)}  # fmt: skip
    assert all(t is None for _, t, m, _ in got if m in ("markov", "shapley"))
    for key, (credit, value) in expected.items():
        assert got[key] == pytest.approx((credit, value), abs=1e-9), key
    channel_totals = dict(
        ((m, c), v)
        for m, c, v in warehouse.query("select attribution_model, channel, conversions from marts.channel_attribution")
    )
    assert math.fsum(v for (m, _), v in channel_totals.items() if m == "markov") == pytest.approx(1.0)


def test_spend_gives_cost_per_conversion_and_roas(warehouse):
    rows = warehouse.query(
        "select channel, month, conversions, spend, cost_per_conversion, roas from marts.channel_attribution_monthly"
        " where attribution_model = 'linear' and channel = 'Paid Search' and month = date '2026-11-01'"
    )
    (channel, _, conversions, spend, cost, roas) = rows[0]
    assert (channel, conversions, spend) == ("Paid Search", pytest.approx(0.25), 90_000)
    assert cost == pytest.approx(360_000) and roas == pytest.approx(37_500 / 90_000)


def test_a_warehouse_from_before_recycling_upgrades_in_place(warehouse, tmp_path):
    """lead_assignments is incremental and never rebuilt: a table without the recycling columns
    must build (append_new_columns adds them) instead of failing on the missing recycle_count or told_at."""
    import shutil

    import duckdb

    from tests.dbt.conftest import run_dbt

    shutil.copy(warehouse.warehouse, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        for column in ("recycled_from_owner", "recycle_count", "recycled_at", "alerted", "told_at"):
            con.execute(f"alter table marts.lead_assignments drop column {column}")
    done = run_dbt(tmp_path, warehouse.lake, "build", "--select", "lead_assignments")
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        columns = {r[0] for r in con.execute("describe marts.lead_assignments").fetchall()}
    assert {"recycled_from_owner", "recycle_count", "recycled_at", "alerted", "told_at"} <= columns
