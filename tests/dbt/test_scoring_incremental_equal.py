"""Scoring on a daily build equals scoring on a full refresh (issue #20 item 3, docs/incremental.md
"What is not incremental" and docs/scoring.md).

conftest's day 2 (``day_two``: built once per test run, incrementally, with its full-refresh side),
then one more day, 2026-11-22: conftest's ``day_three``, built once per test run for this file,
test_incremental_identity and test_identity_incremental_equal (it holds their rows too), on both sides
with a project copy whose seed scoring_rules.csv a marketer edited (this file's ``edited_rules``): the
daily ``dbt build`` (``incremental``, the edited seed loaded by the build) and ``dbt build
--full-refresh`` (``from_scratch``). Every scoring table (the models of ``models/intermediate/scoring``)
and every mart must be equal in the two warehouses, row for row. The day holds what can break a score
computed per day:

* **a late event for an old person**: an email open of Henry's (a form of July, silent since) dated
  2026-10-10 arrives in the day's partition, 43 days late, far outside the lookback: Henry is no
  longer silent 90 days;
* **a merge of two scored persons**: a form with Carol's mailbox (scored, a trial) from ``bob.device``
  (scored, the careers page), a person of its own until then: bob.device's careers page counts for
  Carol;
* **an erasure**: Erin (scored, a trial, the pricing page) erased from the lake and the warehouse as
  ``intent_pipeline.privacy.erase`` does it: no scoring table or mart keeps a row of hers;
* **a rule seed edit**: trial_request 30 -> 35 points (its caps with it), which moves every trial.

One build per side, read in place; the scoring models are tables (rebuilt from every event on every run), so the
test pins what a future incremental scoring must keep equal.
"""

from __future__ import annotations

import pytest

from tests.dbt.conftest import DBT_PROJECT, Build, form, mail
from tests.dbt.test_incremental_identity import person_of

pytestmark = pytest.mark.slow

SCORING_MODELS = sorted(path.stem for path in (DBT_PROJECT / "models" / "intermediate" / "scoring").glob("*.sql"))
TRIAL_POINTS = 35


def edited_rules() -> str:
    """scoring_rules.csv with trial_request at TRIAL_POINTS points (and its two caps)."""
    import csv
    import io

    text = (DBT_PROJECT / "seeds" / "scoring_rules.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    trial = next(row for row in rows if row["rule_id"] == "trial_request")
    assert trial["points"] == "30", "the shipped trial_request changed: pick another edit"
    trial.update(points=str(TRIAL_POINTS), max_points_per_day=str(TRIAL_POINTS), max_points=str(TRIAL_POINTS))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def day3_rows() -> dict[str, list[dict]]:
    """This file's rows of conftest's shared day 3 (``day_three``, 2026-11-22), per raw table."""
    return {
        "forms_submissions": [
            form("f-carol-bob", "2026-11-22 03:00:00", "Contact Us", "carol@shopmart.com", None,
                 full_name="Carol Lin", company="Shopmart", client_id="bob.device", consent="1"),
        ],
        "email_events": [
            mail("e-henry-late-open", "2026-10-10 08:00:00", "open", "henry@old.cn"),
        ],
    }  # fmt: skip


def scoring_tables(build: Build) -> dict[str, list[tuple]]:
    wanted = {f"intermediate.{name}" for name in SCORING_MODELS}
    return build.rows(*(table for table in build.tables() if table in wanted or table.startswith("marts.")))


def rules_of(build: Build, node_key: str) -> set[str]:
    person = person_of(build, node_key)
    rows = build.query("select rule_id from intermediate.int_lead_score_rules where person_id = ?"
                       " and score_point = 'current'", person)  # fmt: skip
    return {rule for (rule,) in rows}


@pytest.fixture(scope="module")
def sides(day_two, day_three) -> dict[str, dict]:
    # day 2 (before) and day 3 (after): conftest's, read in place
    sides = {}
    for name in ("incremental", "from_scratch"):
        day2, build = day_two.side(name), day_three.side(name)
        before = {who: person_of(day2, node) for who, node in (("bob", "web:bob.device"),
                                                               ("carol", "email:carol@shopmart.com"))}  # fmt: skip
        facts = day_three.facts[name]
        sides[name] = {"build": build, "before": before, "henry_before": rules_of(day2, "email:henry@old.cn"),
                       "erased": set(facts["erased"]), "lake_rows": facts["lake_rows"], "deleted": facts["deleted"],
                       "tables": scoring_tables(build)}  # fmt: skip
    return sides


def test_scoring_and_the_marts_equal_a_full_refresh(sides):
    incremental, scratch = sides["incremental"]["tables"], sides["from_scratch"]["tables"]
    assert sorted(incremental) == sorted(scratch)
    scoring = {f"intermediate.{name}" for name in SCORING_MODELS}
    assert {"intermediate.int_lead_score_rules", "intermediate.int_score_point_activity",
            "intermediate.int_scoring_features", "marts.lead_scores", "marts.crm_lead_scores",
            "marts.lead_conversion_examples"} <= set(incremental)  # fmt: skip
    assert scoring <= set(incremental), scoring - set(incremental)
    assert incremental["intermediate.int_lead_score_rules"], "no rule applies: nothing was compared"
    assert [table for table in incremental if incremental[table] != scratch[table]] == []


def test_the_rule_edit_moved_every_trial(sides):
    build = sides["incremental"]["build"]
    points = build.query("select distinct rule_points from intermediate.int_lead_score_rules"
                         " where rule_id = 'trial_request' and score_point = 'current' and hits = 1"
                         " and last_hit_at > timestamp '2026-11-01'")  # fmt: skip
    assert points == [(float(TRIAL_POINTS),)], points


def test_a_late_event_ends_an_old_persons_silence(sides):
    side = sides["incremental"]
    assert "silent_90_days" in side["henry_before"], "Henry must start silent"
    assert "silent_90_days" not in rules_of(side["build"], "email:henry@old.cn")


def test_two_scored_persons_merged(sides):
    side = sides["incremental"]
    assert side["before"]["bob"] != side["before"]["carol"], "bob.device must start as a person of its own"
    build = side["build"]
    assert person_of(build, "web:bob.device") == person_of(build, "email:carol@shopmart.com")
    assert {"careers_page", "trial_request"} <= rules_of(build, "email:carol@shopmart.com")


def test_the_erased_person_has_no_score(sides):
    side = sides["incremental"]
    assert side["lake_rows"] > 0 and side["deleted"], "the erasure found nothing to remove"
    for table, rows in side["tables"].items():
        text = repr(rows).lower()
        assert not any(f"'{value}'" in text for value in side["erased"]), table
