"""World presets of the generator (issue 13): each world's signal structure is what it says."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from intent_pipeline.synth import generate
from intent_pipeline.synth.worlds import WORLDS

PEOPLE = 1500


@cache
def _world(name: str, base: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(people.csv of the CRM leads, lead_events.csv) of a world of PEOPLE people."""
    folder = Path(base) / name
    generate(folder / "landing", folder / "truth", people=PEOPLE, seed=7, world_name=name)
    people = pd.read_csv(folder / "truth" / "people.csv", dtype={"crm_lead_id": str})
    events = pd.read_csv(folder / "truth" / "lead_events.csv", dtype={"lead_id": str})
    return people[people["crm_lead_id"].notna()], events


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("worlds"))
    return lambda name: _world(name, base)


def _fit(leads: pd.DataFrame) -> pd.Series:
    return (leads["is_director_plus"] == 1) & (leads["is_target_industry"] == 1)


def _by_lead(leads: pd.DataFrame, events: pd.DataFrame, prefix: str) -> pd.Series:
    counts = events[events["kind"].str.startswith(prefix)].groupby("lead_id").size()
    return leads["crm_lead_id"].map(counts).fillna(0)


def test_an_unknown_world_is_refused_with_the_names(tmp_path):
    with pytest.raises(ValueError, match="world must be one of default, fit_matters"):
        generate(tmp_path / "l", tmp_path / "t", people=5, world_name="mars")


def test_the_worlds_keep_the_people_and_change_the_propensity(worlds):
    default, _ = worlds("default")
    fit, _ = worlds("fit_matters")
    assert set(WORLDS) == {"default", "fit_matters", "content_universal", "few_opportunities", "sales_led"}
    both = default.merge(fit, on="person_key", suffixes=("_d", "_f"))
    assert len(both) > 0.5 * len(default)  # who becomes a lead depends on behaviour
    assert (both["full_name_d"] == both["full_name_f"]).all()
    assert (both["propensity_d"] != both["propensity_f"]).mean() > 0.5


def test_fit_carries_intent_only_where_the_world_says_so(worlds):
    gaps = {}
    for name in ("default", "fit_matters"):
        leads, _ = worlds(name)
        fit = _fit(leads)
        gaps[name] = leads.loc[fit, "propensity"].mean() - leads.loc[~fit, "propensity"].mean()
    assert abs(gaps["default"]) < 0.05, gaps
    assert gaps["fit_matters"] > 0.15, gaps


def test_content_is_universal_in_one_world_and_follows_intent_in_the_default(worlds):
    shares = {}
    for name in ("default", "content_universal"):
        leads, events = worlds(name)
        shares[name] = (_by_lead(leads, events, "form_whitepaper") + _by_lead(leads, events, "form_webinar") > 0).mean()
    assert shares["content_universal"] >= 0.9, shares
    assert shares["default"] < 0.75, shares


def test_opportunities_are_few_or_most_as_the_world_says(worlds):
    rates = {name: worlds(name)[0]["has_opportunity"].mean() for name in WORLDS}
    assert rates["content_universal"] > 0.5, rates
    assert rates["few_opportunities"] < 0.6 * rates["default"], rates


def test_the_sales_led_world_shows_intent_in_activities_not_on_the_web(worlds):
    correlation = {}
    for name in ("default", "sales_led"):
        leads, events = worlds(name)
        activities = _by_lead(leads, events, "activity_meeting")
        sessions = _by_lead(leads, events, "session")
        correlation[name] = (
            activities.corr(leads["propensity"], method="spearman"),
            sessions.corr(leads["propensity"], method="spearman"),
        )
    assert correlation["sales_led"][0] > 0.3 > correlation["default"][0], correlation
    assert correlation["sales_led"][1] < correlation["default"][1] - 0.15, correlation
