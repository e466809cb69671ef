"""Attribution models: hand-solved chains, heuristics against an independent computation, determinism."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import permutations

import pytest
from intent_pipeline import attribution as A
from intent_pipeline.attribution import PathRow

from tests.benches import load_bench

# the heuristics written out plainly, with exact fractions, independently of intent_pipeline
reference_credits = load_bench("attribution").reference_credits


def rows(*items: tuple[str, float, float]) -> list[PathRow]:
    return [PathRow(A.split_path(p), conversions=c, value=10 * c, nulls=n) for p, c, n in items]


# --- the Markov chain, solved by hand ------------------------------------------------------------

# paths: a > b (1 conversion), a (1 null), b (1 conversion, 1 null)
# transitions: start→a 2, start→b 2; a→b 1, a→null 1; b→conv 2, b→null 1
# P(conv) = 1/2·1/2·2/3 + 1/2·2/3 = 1/2
# without a: 1/2·2/3 = 1/3 → removal effect 1 − (1/3)/(1/2) = 1/3; without b: 0 → removal effect 1
# markov (standard): the 2 conversions in proportion 1/3 : 1 → a 1/2, b 3/2.
# markov_path: a > b splits 1/3 : 1 → a 1/4, b 3/4; b → b 1. Totals: a 1/4, b 7/4.
HAND = rows(("a > b", 1, 0), ("a", 0, 1), ("b", 1, 1))


def test_markov_chain_solved_by_hand():
    chain = A.markov(HAND)
    assert chain.conversion_probability == pytest.approx(0.5, abs=1e-15)
    assert chain.without == pytest.approx({"a": 1 / 3, "b": 0.0}, abs=1e-15)
    assert chain.removal_effects == pytest.approx({"a": 1 / 3, "b": 1.0}, abs=1e-15)
    result = A.attribute(HAND)
    assert result.conversions["markov"] == pytest.approx({"a": 0.5, "b": 1.5}, abs=1e-15)
    assert result.value["markov"] == pytest.approx({"a": 5.0, "b": 15.0}, abs=1e-14)
    assert result.conversions["markov_path"] == pytest.approx({"a": 0.25, "b": 1.75}, abs=1e-15)
    assert result.value["markov_path"] == pytest.approx({"a": 2.5, "b": 17.5}, abs=1e-14)


def test_markov_loop_solved_by_hand():
    # a > b > a > b converts, b > a is null: a loop between a and b.
    # transitions (weight 1 per path): start→a 1, start→b 1; a→b 2, b→a 2, b→conv 1, a→null 1
    # from a: P(a→b) = 2/3, P(a→null) = 1/3; from b: P(b→a) = 2/3, P(b→conv) = 1/3
    # x_b = 1/3 + 2/3 x_a, x_a = 2/3 x_b → x_b = 1/3 + 4/9 x_b → x_b = 3/5, x_a = 2/5
    # P(conv) = (x_a + x_b)/2 = 1/2. Without a: only start→b→conv, 1/2·1/3 = 1/6, effect 1 − (1/6)/(1/2)
    # = 2/3; without b: no way to convert, effect 1
    chain = A.markov(rows(("a > b > a > b", 1, 0), ("b > a", 0, 1)))
    assert chain.conversion_probability == pytest.approx(0.5, abs=1e-15)
    assert chain.removal_effects == pytest.approx({"a": 2 / 3, "b": 1.0}, abs=1e-15)


def test_markov_second_order_uses_pairs_of_channels():
    # order 2: a > b and c > b are different states, so b's success depends on what came before
    data = rows(("a > b", 1, 0), ("c > b", 0, 1))
    first, second = A.markov(data, order=1), A.markov(data, order=2)
    assert first.conversion_probability == pytest.approx(0.5)
    assert second.conversion_probability == pytest.approx(0.5)
    assert second.removal_effects["c"] == pytest.approx(0.0, abs=1e-15)  # c's journeys never convert
    assert second.removal_effects["a"] == pytest.approx(1.0)
    assert second.states > first.states


def test_runs_are_bit_identical_and_independent_of_row_order():
    data = rows(("a > b > c", 3, 2), ("b > c", 1, 5), ("c > a", 2, 1), ("a", 0, 4), ("b > b > a", 1, 0))
    first = A.to_csv(A.attribute(data))
    for order in list(permutations(data))[:24]:
        assert A.to_csv(A.attribute(list(order))) == first


# --- Shapley values, by hand ---------------------------------------------------------------------


def test_shapley_values_by_hand():
    # v({a}) = 1/2 (1 of 2 journeys converted), v({b}) = 0, v({a,b}) = 1 (1 of 1)
    # φ_a = 1/2 (v(a) − 0) + 1/2 (v(ab) − v(b)) = 1/4 + 1/2 = 3/4; φ_b = 1/2 (0) + 1/2 (1 − 1/2) = 1/4
    data = rows(("a", 1, 1), ("b", 0, 1), ("a > b", 1, 0))
    assert A.shapley(data) == pytest.approx({"a": 0.75, "b": 0.25}, abs=1e-15)
    result = A.attribute(data)
    # shapley (standard): the 2 conversions in proportion 3/4 : 1/4
    assert result.conversions["shapley"] == pytest.approx({"a": 1.5, "b": 0.5}, abs=1e-15)
    # shapley_path: "a" converts once (all to a); "a > b" splits 3/4 : 1/4
    assert result.conversions["shapley_path"] == pytest.approx({"a": 1.75, "b": 0.25}, abs=1e-15)


# --- heuristics, against a plain computation written independently ------------------------------


PATHS = [
    ["Email"],
    ["Direct"],
    ["Organic Search", "Direct"],
    ["Direct", "Direct", "Direct"],
    ["Paid Search", "Email", "Direct", "Referral"],
    ["Paid Social", "Paid Social", "Organic Search", "Email", "Email", "Direct"],
]


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "last_non_direct", "linear", "position_based",
                                   "time_decay"])  # fmt: skip
@pytest.mark.parametrize("path", PATHS, ids=[" > ".join(p) for p in PATHS])
def test_heuristics_match_an_independent_computation(path, model):
    ours = A.path_credits(path, model, half_life=2.0)
    theirs = reference_credits(path, model, half_life=2.0)
    assert set(ours) == set(theirs)
    for channel, credit in theirs.items():
        assert ours[channel] == pytest.approx(float(credit), abs=1e-15)
    assert math.fsum(ours.values()) == pytest.approx(1.0, abs=1e-15)


def test_time_decay_with_touch_ages_in_days():
    # touches 14, 7 and 0 days before the conversion, half-life 7 days: weights 1/4, 1/2, 1
    credits = A.path_credits(["a", "b", "c"], "time_decay", ages=[14, 7, 0], half_life=7)
    assert credits == pytest.approx({"a": 1 / 7, "b": 2 / 7, "c": 4 / 7}, abs=1e-15)


@pytest.mark.parametrize(
    ("how", "expected"),
    [("unique", ("a", "a", "b", "a")), ("exposure", ("a", "b", "a")), ("first", ("a", "b")),
     ("frequency", ("a", "b", "a"))],
)  # fmt: skip
def test_path_transforms(how, expected):
    assert A.transform(("a", "a", "b", "a"), how) == expected


def test_every_conversion_credits_sum_to_one_and_to_its_value():
    data = rows(("a > b > c", 3, 2), ("b > c", 1, 5), ("c > a", 2, 1), ("a", 0, 4), ("Direct > b", 1, 0))
    result = A.attribute(data)
    for model in A.MODELS:
        assert math.fsum(result.conversions[model].values()) == pytest.approx(7, abs=1e-12), model
        assert math.fsum(result.value[model].values()) == pytest.approx(70, abs=1e-11), model


def test_path_file_parsing_and_errors():
    text = "path,total_conversions,total_conversion_value,total_null\nalpha > beta,2,30.5,4\ngamma,0,0,7\n"
    parsed = A.read_path_file(text)
    assert parsed == [PathRow(("alpha", "beta"), 2, 30.5, 4), PathRow(("gamma",), 0, 0, 7)]
    with pytest.raises(A.AttributionError, match="no column total_conversions"):
        A.read_path_file("path,x\na,1\n")
    with pytest.raises(A.AttributionError, match="line 2"):
        A.read_path_file("path,total_conversions\na,many\n")
    with pytest.raises(A.AttributionError, match="line 2: counts"):
        A.read_path_file("path,total_conversions\na,-1\n")


# --- the standard Markov allocation against an independent exact solution ------------------------

reference_markov = load_bench("attribution").reference_markov
distinct_paths = load_bench("attribution").distinct_paths


def test_reference_chain_reproduces_the_hand_solved_numbers():
    # the reference (exact fractions, written independently) on the chain solved by hand above
    effects, conversions, value = reference_markov(HAND)
    assert effects == {"a": Fraction(1, 3), "b": Fraction(1)}
    assert conversions == {"a": Fraction(1, 2), "b": Fraction(3, 2)}
    assert value == {"a": Fraction(5), "b": Fraction(15)}


@pytest.mark.parametrize("seed", [1, 2])
def test_markov_is_the_standard_allocation_of_an_exact_chain(seed):
    # 400 distinct random paths over 12 channels: totals in proportion to the removal effects
    data = distinct_paths(400, seed)
    effects, conversions, value = reference_markov(data)
    result = A.attribute(data)
    assert result.markov.removal_effects == pytest.approx({c: float(e) for c, e in effects.items()}, rel=1e-12)
    for channel, expected in conversions.items():
        assert result.conversions["markov"][channel] == pytest.approx(float(expected), rel=1e-12), channel
        assert result.value["markov"][channel] == pytest.approx(float(value[channel]), rel=1e-12), channel
    # the per-path variant is a different allocation of the same total
    assert math.fsum(result.conversions["markov_path"].values()) == pytest.approx(result.total_conversions)
    assert result.conversions["markov_path"] != pytest.approx(result.conversions["markov"], rel=1e-3)


def test_standard_shapley_divides_the_total_in_proportion_to_the_values():
    data = distinct_paths(200, 5)
    result = A.attribute(data)
    positive = {c: v for c, v in result.shapley.items() if v > 0}
    for channel, credited in result.conversions["shapley"].items():
        expected = result.total_conversions * positive.get(channel, 0.0) / math.fsum(positive.values())
        assert credited == pytest.approx(expected, rel=1e-12, abs=1e-12), channel


def test_journeys_give_channel_rows_for_the_standard_models():
    journeys = [
        A.Journey("c1", ("a", "b"), ("t1", "t2"), converted=True, value=10.0),
        A.Journey("c2", ("b",), ("t3",), converted=True, value=30.0),
        A.Journey("n1", ("a",), ("t4",)),
        A.Journey("n2", ("b",), ("t5",)),
    ]
    credits, chain, _ = A.attribute_journeys(journeys)
    assert chain.removal_effects == pytest.approx({"a": 1 / 3, "b": 1.0})
    markov_rows = {(j, t, ch): (c, v) for j, t, m, c, v, ch in credits if m == "markov"}
    # every conversion the same shares 1/4 : 3/4, including c2 that never touched a; no touch id
    expected = {("c1", None, "a"): (0.25, 2.5), ("c1", None, "b"): (0.75, 7.5),
                ("c2", None, "a"): (0.25, 7.5), ("c2", None, "b"): (0.75, 22.5)}  # fmt: skip
    assert set(markov_rows) == set(expected)
    for key, pair in expected.items():
        assert markov_rows[key] == pytest.approx(pair, rel=1e-14), key
    path_rows = {(j, t, ch): c for j, t, m, c, _, ch in credits if m == "markov_path"}
    assert path_rows == pytest.approx({("c1", "t1", "a"): 0.25, ("c1", "t2", "b"): 0.75, ("c2", "t3", "b"): 1.0})


def test_semicolon_path_files_are_read():
    text = "path;total_conversions;total_conversion_value;total_null\neta > iota;1;0.244;3\n"
    assert A.read_path_file(text) == [PathRow(("eta", "iota"), 1, 0.244, 3)]


def test_conversions_without_a_touch_stay_out_of_the_chain_and_the_game():
    # u: a conversion with only the pseudo-touch Unattributed; inside the game its conversion rate
    # of 1 would make every real channel's Shapley value negative (and take shares in the chain)
    journeys = [
        A.Journey("c1", ("a", "b"), ("t1", "t2"), converted=True, value=10.0),
        A.Journey("c2", ("b",), ("t3",), converted=True, value=30.0),
        A.Journey("u", (A.UNATTRIBUTED,), ("unattributed:u",), converted=True, value=50.0),
        A.Journey("n1", ("a",), ("t4",)),
        A.Journey("n2", ("b",), ("t5",)),
    ]
    credits, chain, values = A.attribute_journeys(journeys)
    assert chain.channels == ["a", "b"] and set(values) == {"a", "b"}
    assert chain.removal_effects == pytest.approx({"a": 1 / 3, "b": 1.0})  # as without u
    for model in A.MODELS:
        mine = [(t, ch, c, v) for j, t, m, c, v, ch in credits if j == "u" and m == model]
        assert mine == [("unattributed:u", A.UNATTRIBUTED, 1.0, 50.0)], model
        others = {ch for j, t, m, c, v, ch in credits if j != "u" and m == model}
        assert A.UNATTRIBUTED not in others, model
    totals = A.attribute(rows(("a > b", 1, 0), ("b", 1, 1), ("a", 0, 1), (A.UNATTRIBUTED, 3, 0)))
    assert totals.conversions["markov"] == pytest.approx({"a": 0.5, "b": 1.5, A.UNATTRIBUTED: 3.0})
    assert totals.conversions["shapley"][A.UNATTRIBUTED] == pytest.approx(3.0)


def test_a_journey_table_without_rows_credits_nothing_and_fails_nothing():
    """The dbt model attribution_touch_credits on a day when no consenting person has a journey (a
    40-person sample's first build under the real scheduler): it failed the whole
    dbt build with "zip() argument 2 is longer than argument 1"; now an empty table of credits."""
    import pandas as pd

    columns = [*A.JOURNEY_COLUMNS, "person_id", "converted_at", "touched_at", "campaign"]
    empty = pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})
    assert A.journeys_from_table(empty) == []
    credits = A.attribute_journey_table(empty)
    assert len(credits) == 0
    assert {"conversion_id", "attribution_model", "credit", "removal_effect", "shapley_value"} <= set(credits.columns)


# --- the dbt model's two routes: counted null paths (DuckDB) and every journey (DataFrames) -------

MODEL_FILE = "dbt_project/models/marts/attribution/attribution_touch_credits.py"


def journey_table(seed: int = 7, people: int = 300):
    """A journey table as int_attribution_journeys holds it: converting and non-converting journeys
    (repeated channels, so that the transforms drop touches), one conversion without a touch."""
    import random
    from datetime import datetime, timedelta

    import pandas as pd

    rng = random.Random(seed)
    channels = ["Direct", "Email", "Organic Search", "Paid Search", "Referral"]
    start = datetime(2026, 11, 1)
    rows = []
    for n in range(people):
        person = f"p{n:04d}"
        converted = rng.random() < 0.2
        journey = f"crm:{person}:won" if converted else f"null:{person}"
        touches = rng.randint(1, 5)
        end = start + timedelta(days=rng.randint(5, 25))
        value = round(rng.uniform(1, 9999), 2) if converted else None
        for number in range(1, touches + 1):
            at = end - timedelta(hours=rng.randint(0, 400))
            rows.append((journey, person, converted, end if converted else None, value, number, f"t{n}-{number}",
                         at, rng.choice(channels[:3]) if number % 2 else rng.choice(channels), None,
                         (end - at).total_seconds() / 86400.0))  # fmt: skip
    rows.append(("crm:lonely:won", "lonely", True, end, 10.0, 1, "unattributed:crm:lonely:won", end,
                 A.UNATTRIBUTED, None, 0.0))  # fmt: skip
    columns = ["journey_id", "person_id", "is_conversion", "converted_at", "conversion_value", "touch_number",
               "touch_id", "touched_at", "channel", "campaign", "age_days"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    consent = [True if n % 11 else (None if n % 2 else False) for n in range(people)]  # some withdrawn, some unknown
    persons = pd.DataFrame({"person_id": [f"p{n:04d}" for n in range(people)] + ["lonely"],
                            "consent_analytics": consent + [True]})  # fmt: skip
    return table, persons


@pytest.mark.parametrize("how", A.TRANSFORMS)
def test_counted_null_paths_give_the_same_credits_bit_for_bit(how):
    import pandas as pd

    table, _ = journey_table()
    every = A.attribute_journey_table(table, how, half_life=5.0)
    converting = table[table["is_conversion"]]
    counts: dict[tuple, int] = {}
    for _, journey in table[~table["is_conversion"]].sort_values("touch_number").groupby("journey_id"):
        path = tuple(journey["channel"])
        counts[path] = counts.get(path, 0) + 1
    counted = A.attribute_journey_table(converting, how, half_life=5.0, null_paths=list(counts.items()))
    pd.testing.assert_frame_equal(counted.reset_index(drop=True), every.reset_index(drop=True), check_exact=True)
    # the null journeys weigh in the fit: without them the Markov and Shapley credits differ
    alone = A.attribute_journey_table(converting, how, half_life=5.0)
    assert not alone["removal_effect"].equals(every["removal_effect"])


def test_the_models_duckdb_route_equals_its_dataframe_route():
    """attribution_touch_credits.py on DuckDB relations (consent filter and null-path counts in SQL) and
    on DataFrames (the route attribute-postgres takes): the same rows, and only consenting people."""
    import runpy

    import duckdb
    import pandas as pd

    table, persons = journey_table()
    model = runpy.run_path(MODEL_FILE)["model"]
    config = {"path_transform": "exposure", "half_life_days": "7", "markov_order": "1"}

    class Frame:
        def __init__(self, frame):
            self.frame = frame

        def df(self):
            return self.frame

    class Dbt:
        def __init__(self, refs):
            self.refs = refs
            self.config = config

        def ref(self, name):
            return self.refs[name]

    con = duckdb.connect()
    con.register("journeys_df", table)
    con.register("people_df", persons)
    relations = {"int_attribution_journeys": con.query("select * from journeys_df"),
                 "people": con.query("select * from people_df")}  # fmt: skip
    in_sql = model(Dbt(relations), con)
    in_pandas = model(Dbt({"int_attribution_journeys": Frame(table), "people": Frame(persons)}), None)
    assert len(in_sql) > 0
    pd.testing.assert_frame_equal(in_sql.reset_index(drop=True), in_pandas.reset_index(drop=True), check_exact=True)
    refused = set(persons.loc[~persons["consent_analytics"].fillna(False).astype(bool), "person_id"])
    assert refused and not refused & set(in_sql["person_id"])
