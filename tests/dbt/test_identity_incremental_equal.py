"""The incremental identity graph equals a full refresh of the same data (issue #20 item 3,
docs/incremental.md "Identity").

conftest's days 1, 2 and 3 (``day_one``, ``day_two``, ``day_three``: the hand-written lake's first day
on an empty warehouse, its second and third days built once per test run for this file and the other
incremental files), then three days on a copy of day 3's incremental side: ``dbt run`` of the
models of staging, the identity models and their children that the tests read or ``--full-refresh``
rebuilds, with their parents, as the daily build runs them (``incremental``; ``daily_selection``);
after each, ``from_scratch`` is a copy of that warehouse and lake with the models of that selection
that ``--full-refresh`` rebuilds refreshed (conftest's ``rebuilt_within``, as ``day_two`` and
test_crm_incremental_equal do: every other table or view is rebuilt whole by a daily run from those
models' rows and the lake; the histories, never rebuilt, were equal on day 3). The marts and
histories below them are left out of both sides' runs: a copy of day 3's on both sides.
After each day every table of ``staging``, ``intermediate`` and ``marts`` (the kept edges of
``int_identity_components`` included) must be equal in the two warehouses, row for row. Those days
run on a copy of the dbt project as day 3 built it (conftest's ``DayThree.project_copy``), whose seed
identity_decisions.csv the last day edits as a steward would.

* day 2 (2026-11-21): the lake's second day (Alice's form joins her CRM lead), conftest's
  ``day_two``: the whole daily ``dbt build`` on the incremental side; on the from-scratch side that
  warehouse with the models ``--full-refresh`` rebuilds refreshed (the incremental ones, the
  identity graph's evidence and components among them; the tables built from them are functions of
  their rows, checked equal here, and of the lake, the same on both sides). The shipped seed of
  decisions is empty, as the project copy's is until day 5;
* day 3 (2026-11-22), conftest's ``day_three`` (the whole daily ``dbt build`` against ``dbt build
  --full-refresh``): a form of Carol's from ``bob.device``, a person of its own since day 1 (a
  **merge across days**, test_incremental_identity's row), and a form of Dave's with a typo'd mailbox
  (a **probabilistic match** with his day-1 form, this file's row); Erin erased before the build;
* day 4: **Henry is erased** (lake and warehouse, as ``intent_pipeline.privacy.erase`` does it) and
  three more mailboxes are typed on ``bob.device``: four addresses on one browser, a **hub guard
  trips** and cuts the browser's links of every day, splitting Carol from it again;
* day 5: no data, **decisions** written to the seed: must_link Dave and Alice, detach Carol's phone,
  cannot_link Carol's mailbox and her browser.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from intent_pipeline.privacy.erase import warehouse_rows

from tests.dbt.conftest import (
    DAY_THREE,
    DAYS,
    GARBAGE_DAY,
    WITHOUT_TESTS,
    Build,
    DayThree,
    form,
    page_view,
    rebuilt_by_full_refresh,
    rebuilt_within,
    run_project,
    within,
    write_partition,
)
from tests.dbt.test_identity_decisions import HEADER
from tests.dbt.test_incremental_identity import erase_from_lake, person_values

pytestmark = pytest.mark.slow

# staging (the day's partitions; the web staging is incremental), the identity models and everything
# built from them
IDENTITY_AND_CHILDREN = ("--select", "path:models/staging", "path:models/intermediate/identity+")
# what the tests read of IDENTITY_AND_CHILDREN (beside the models --full-refresh rebuilds, compared
# on both sides): the daily runs build these, the models --full-refresh rebuilds and their parents
# within IDENTITY_AND_CHILDREN (``daily_selection``), not the marts and histories below them, which
# neither side of a day here rebuilds (the from-scratch side is the daily side's copy with the
# incremental models refreshed: a table below them is the same copy on both sides whether the daily
# run rebuilt it or not): 33 models a run instead of 78
READ = ("int_identity_components", "int_identity_person_ids", "int_people_resolved", "int_identity_match_pairs",
        "int_identity_hubs", "int_identity_records", "int_identity_record_identifiers",
        "int_identity_record_standardisation", "int_identity_match_standardisation", "int_events_unified")  # fmt: skip
DECISIONS = HEADER + (
    "DS-1,must_link,email:dave@bank.com,email:alice.wang@huarui.cn,Li Na,one buyer,2026-11-24\n"
    "DS-2,detach,phone:+8615011112222,,Li Na,the phone on Carol's trial form is her assistant's,2026-11-24\n"
    "DS-3,cannot_link,email:carol@shopmart.com,web:carol.device,Li Na,a shared browser,2026-11-24\n"
)
CLUSTERED = re.compile(r"int_identity_components: (\d+) nodes touched by changed edges, (\d+) nodes clustered again")


def day3_rows() -> dict[str, list[dict]]:
    """This file's rows of conftest's shared day 3 (``day_three``; Carol's form from bob.device is
    test_incremental_identity's row of the same day)."""
    return {
        "forms_submissions": [
            form("f-dave-typo", "2026-11-22 04:00:00", "Contact Us", "dave@bnak.com", None,
                 full_name="Dave Wu", company="Harbor Bank", consent="1"),
        ],
    }  # fmt: skip


def day4(lake: Path) -> None:
    write_partition(lake, "forms_submissions", date(2026, 11, 23), [
        form("f-bob-1", "2026-11-23 03:00:00", "Brochure", "visitor.one@expo.cn", None, client_id="bob.device"),
        form("f-bob-2", "2026-11-23 03:10:00", "Brochure", "visitor.two@expo.cn", None, client_id="bob.device"),
        form("f-bob-3", "2026-11-23 03:20:00", "Brochure", "visitor.three@expo.cn", None, client_id="bob.device"),
    ])  # fmt: skip


def person_of(build: Build, node_key: str) -> str | None:
    rows = build.query("select person_id from intermediate.int_people_resolved where node_key = ?", node_key)
    return rows[0][0] if rows else None


def interval_of(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time())
    return start, start + timedelta(days=1)


def daily_selection(manifest: dict) -> tuple[str, ...]:
    """``--select`` for the daily runs: READ and the models ``--full-refresh`` rebuilds, with their
    parents, within IDENTITY_AND_CHILDREN."""
    models = (*sorted(rebuilt_by_full_refresh(manifest)), *READ)
    return within(IDENTITY_AND_CHILDREN[1:], [f"+{model}" for model in models])


def run_day(
    project: Path, build: Build, day: date, manifest: dict, seed: str | None = None
) -> subprocess.CompletedProcess:
    """``dbt run`` of :func:`daily_selection` for ``day``, as the daily build runs those models; with
    ``seed``, that seed loaded first in the same call (``dbt build`` of the seed and the models, no
    tests: one dbt start instead of a ``dbt seed`` more)."""
    command = ("build", *WITHOUT_TESTS) if seed else ("run",)
    args = (*command, *daily_selection(manifest), *((seed,) if seed else ()))
    done = run_project(project, build.base, build.lake, *args, interval=interval_of(day))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def refresh_day(sides: dict, day: date, manifest: dict) -> subprocess.CompletedProcess:
    """The from-scratch side of ``day``: the incremental side's warehouse and lake copied over it, then the
    models of IDENTITY_AND_CHILDREN that ``--full-refresh`` rebuilds refreshed (``rebuilt_within``)."""
    daily, scratch = sides["incremental"]["build"], sides["from_scratch"]["build"]
    shutil.rmtree(scratch.lake)
    shutil.copytree(daily.lake, scratch.lake)
    shutil.copyfile(daily.warehouse, scratch.warehouse)
    done = run_project(sides["from_scratch"]["project"], scratch.base, scratch.lake, "run", "--full-refresh",
                       *rebuilt_within(IDENTITY_AND_CHILDREN[1:], manifest), interval=interval_of(day))  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def facts(build: Build) -> dict[str, str | None]:
    return {who: person_of(build, node) for who, node in (
        ("bob", "web:bob.device"), ("carol", "email:carol@shopmart.com"), ("dave", "email:dave@bank.com"),
        ("alice", "email:alice.wang@huarui.cn"))}  # fmt: skip


@pytest.fixture(scope="module")
def days(tmp_path_factory, day_two, day_three) -> dict:
    # days 2 and 3: conftest's day_two and day_three (built once per test run), read in place; days 4
    # and 5 on copies of day 3's two sides
    day2, day3 = DAYS[1], DAY_THREE[0].date()
    builds = day_three.copy_to(tmp_path_factory.mktemp("identity_incremental"))
    # test_incremental's garbage partition (in day 3's incremental lake) goes: day 4's erasure rewrites
    # every partition of the lake, as erase.rewrite_partition does
    shutil.rmtree(builds["incremental"].lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}")
    sides: dict[str, dict] = {}
    for name, build in builds.items():
        shared = {day2: day_two.side(name), day3: day_three.side(name)}
        sides[name] = {"build": build, "project": DayThree.project_copy(build.base),
                       "snapshots": {day: side.rows() for day, side in shared.items()},
                       "logs": {day2: day_two.logs[name], day3: day_three.facts[name]["log"]},
                       "facts": {day: facts(side) for day, side in shared.items()}}  # fmt: skip
    daily = sides["incremental"]
    build, project = daily["build"], daily["project"]
    for day in (date(2026, 11, 23), date(2026, 11, 24)):
        if day == date(2026, 11, 23):
            # Henry (Erin went on day 3, before the shared build)
            erased = person_values(build, "email:henry@old.cn")
            daily["facts"]["erased"] = erased
            daily["facts"]["lake_rows"] = erase_from_lake(build.lake, erased)
            daily["facts"]["deleted"] = warehouse_rows(build.warehouse, erased, apply=True)
            day4(build.lake)
        seed = None
        if day == date(2026, 11, 24):
            for side in sides.values():  # both projects as the steward left them (the seed's parse)
                (side["project"] / "seeds" / "identity_decisions.csv").write_text(DECISIONS, encoding="utf-8")
            seed = "identity_decisions"  # loaded by the day's own call
        outputs = {"incremental": run_day(project, build, day, day_two.manifest, seed=seed),
                   "from_scratch": refresh_day(sides, day, day_two.manifest)}  # fmt: skip
        for name, side in sides.items():
            side["logs"][day] = outputs[name].stdout
            side["snapshots"][day] = side["build"].rows()
            side["facts"][day] = facts(side["build"])
    return sides


@pytest.mark.parametrize("day", ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"])
def test_every_table_equals_a_full_refresh(days, day):
    when = date.fromisoformat(day)
    incremental, scratch = days["incremental"]["snapshots"][when], days["from_scratch"]["snapshots"][when]
    assert sorted(incremental) == sorted(scratch)
    assert {"intermediate.int_identity_components", "intermediate.int_identity_person_ids",
            "intermediate.int_people_resolved", "intermediate.int_identity_match_pairs", "marts.people",
            "marts.lead_scores", "intermediate.int_events_unified", "intermediate.int_identity_record_identifiers",
            "intermediate.int_identity_record_standardisation",
            "intermediate.int_identity_match_standardisation"} <= set(incremental)  # fmt: skip
    assert incremental["intermediate.int_identity_components"], "no component: nothing was compared"
    assert [table for table in incremental if incremental[table] != scratch[table]] == []


def test_the_daily_runs_clustered_only_what_changed(days):
    # the incremental side took the incremental path on every day, and clustered fewer nodes than
    # the graph holds (the full refresh clusters every node and logs no such line)
    for day, log in days["incremental"]["logs"].items():
        found = CLUSTERED.search(log)
        assert found, f"{day}: the incremental path did not run"
        nodes = len(days["incremental"]["snapshots"][day]["intermediate.int_identity_components"])
        assert int(found.group(2)) < nodes, (day, found.group(0), nodes)
    assert not any(CLUSTERED.search(log) for log in days["from_scratch"]["logs"].values())


def test_the_scenario_happened(days):
    facts = days["incremental"]["facts"]
    may21, may22, may23, may24 = (facts[date(2026, 11, d)] for d in (21, 22, 23, 24))
    day3_tables = days["incremental"]["snapshots"][date(2026, 11, 22)]
    records = {row[0] for row in day3_tables["intermediate.int_identity_records"]}
    assert {"forms:typeform:f-carol-demo", "forms:typeform:f-dave-typo"} <= records
    # a merge across days, then the hub guard splits it again
    assert may21["bob"] != may21["carol"]
    assert may22["bob"] == may22["carol"]
    assert may23["bob"] != may23["carol"]
    hubs = days["incremental"]["snapshots"][date(2026, 11, 23)]["intermediate.int_identity_hubs"]
    assert any(row[0] == "web:bob.device" for row in hubs)
    # Dave's typo'd mailbox matched his form probabilistically
    pairs = day3_tables["intermediate.int_identity_match_pairs"]
    assert any("f-dave-typo" in row[0] + row[1] for row in pairs), pairs
    # the erasure removed rows, and the decision joined Dave and Alice
    assert facts["lake_rows"] > 0 and facts["deleted"]
    assert may23["dave"] != may23["alice"] and may24["dave"] == may24["alice"]


# Day 6 (2026-11-25), built on both sides after the four days above (their snapshots are taken): the
# partition of day 3 is extracted again with Dave's typo'd mailbox corrected (a record re-extracted
# with a changed email, inside the day's window), retention purges day 1's partitions of forms, email
# and CRM leads (records gone; day 1's web events stay: the web staging's known gap, w-bob-1 in days 1
# and 2, docs/incremental.md "Retention"), and bob.device is seen again (a web record's last sighting).
DAY6 = date(2026, 11, 25)
PURGED = ("forms_submissions", "email_events", "crm_leads")
RECORDS_CHANGED = re.compile(
    r"(int_identity_record_identifiers|int_identity_record_standardisation): "
    r"(\d+) records new or changed, (\d+) gone, of (\d+)"
)


def correct_daves_mailbox(lake: Path) -> None:
    """Day 3's form partition extracted again, f-dave-typo's mailbox corrected, every other row as it was."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = lake / "raw" / "forms_submissions" / f"dt={DAY_THREE[0].date()}" / "part-0.parquet"
    table = pq.read_table(path)
    typo = pc.fill_null(pc.equal(table["submission_id"], "f-dave-typo"), False)
    assert pc.sum(typo).as_py() == 1, "day 3 has no f-dave-typo to correct"
    email = pc.if_else(typo, "dave.wu@harborbank.com", table["email"])
    pq.write_table(table.set_column(table.schema.get_field_index("email"), "email", email), path)


@pytest.fixture(scope="module")
def day_six(days, day_two) -> dict:
    build = days["incremental"]["build"]
    correct_daves_mailbox(build.lake)
    for table in PURGED:
        shutil.rmtree(build.lake / "raw" / table / f"dt={DAYS[0]}")
    write_partition(build.lake, "web_events", DAY6, [
        page_view("w-bob-6", "bob.device", "2026-11-25 10:00:00", "/pricing", 9, 8_000)])  # fmt: skip
    outputs = {"incremental": run_day(days["incremental"]["project"], build, DAY6, day_two.manifest),
               "from_scratch": refresh_day(days, DAY6, day_two.manifest)}  # fmt: skip
    return {name: {"log": outputs[name].stdout, "tables": days[name]["build"].rows()} for name in days}


def test_a_changed_email_and_a_purged_partition_equal_a_full_refresh(day_six):
    incremental, scratch = day_six["incremental"]["tables"], day_six["from_scratch"]["tables"]
    assert sorted(incremental) == sorted(scratch)
    assert [table for table in incremental if incremental[table] != scratch[table]] == []
    identifiers = incremental["intermediate.int_identity_record_identifiers"]
    nodes = {(row[1], row[3]) for row in identifiers}
    # the re-extracted form holds its new mailbox only; the purged partitions' records are gone
    assert ("typeform:f-dave-typo", "email:dave.wu@harborbank.com") in nodes
    assert not any(row[3] == "email:dave@bnak.com" for row in identifiers)
    purged = ("typeform:f-carol-trial", "hubspot_forms:f-dave-trial", "00Qalice")
    assert not any(row[1] in purged for row in identifiers)
    assert not any(row[0] == "email" and row[1] == "info@acme-retail.com" for row in identifiers)
    standardised = {row[0] for row in incremental["intermediate.int_identity_record_standardisation"]}
    assert "forms:typeform:f-dave-typo" in standardised and "forms:typeform:f-carol-trial" not in standardised


def test_the_record_models_took_the_incremental_path(days, day_six):
    # every daily run of the incremental side computed only the records new or changed, fewer than it
    # listed, and deleted those gone (an erasure on day 4; a purge and a re-extracted partition on day 6);
    # the full refresh logs no such line
    logs = {**days["incremental"]["logs"], DAY6: day_six["incremental"]["log"]}
    for day, log in logs.items():
        found = {model: tuple(map(int, counts)) for model, *counts in RECORDS_CHANGED.findall(log)}
        assert set(found) == {"int_identity_record_identifiers", "int_identity_record_standardisation"}, log[-3000:]
        assert all(changed < listed for changed, _, listed in found.values()), (day, found)
        if day in (date(2026, 11, 23), DAY6):
            assert all(changed > 0 and gone > 0 for changed, gone, _ in found.values()), (day, found)
    scratch_logs = [*days["from_scratch"]["logs"].values(), day_six["from_scratch"]["log"]]
    assert not any(RECORDS_CHANGED.search(log) for log in scratch_logs)


def test_an_erasure_leaves_no_record_of_the_person(days):
    # day 4 erased Henry: his form's record and every identifier of his are gone from the incremental tables
    tables = days["incremental"]["snapshots"][date(2026, 11, 23)]
    erased = days["incremental"]["facts"]["erased"]
    forms = ("jinshuju:联系我们:f-henry",)  # a jinshuju form's key holds the form's name
    identifiers = tables["intermediate.int_identity_record_identifiers"]
    assert not [row for row in identifiers if row[1] in forms or row[3].split(":", 1)[1].lower() in erased]
    standardised = tables["intermediate.int_identity_record_standardisation"]
    assert not [row for row in standardised if row[0] in {f"forms:{key}" for key in forms}]
    # and they were there before the erasure
    before = days["incremental"]["snapshots"][date(2026, 11, 22)]["intermediate.int_identity_record_identifiers"]
    assert [row for row in before if row[1] in forms]
