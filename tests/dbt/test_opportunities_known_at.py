"""The macro ``opportunities_known_at`` (macros/scoring_opportunities.sql), the one home of "the
opportunity as the CRM knew it at a point", on hand-made export versions through real dbt and DuckDB
(``dbt show --inline``; the same SQL on Postgres and Spark: tests/dbt/test_scoring_signals_engines.py).

* A deal closed lost and re-opened (docs/sample.md "re-opened"): the latest version known at the point
  decides, so it is lost between its close and its re-opening and open after it.
* Exports without ``stage_changed_at`` (docs/contracts.md: optional): a version's stage is known from the
  end of its export day, never earlier; a change of stage is known from the end of the first export that
  shows the new stage (a first export's stage is no change: its stalled clock runs from the creation).
"""

from __future__ import annotations

import json

from tests.dbt.conftest import run_dbt

COLUMNS = "opportunity_id, lead_id, stage, is_closed, is_won, created_at, closed_at, stage_changed_at, _interval_start"


def version(opp: str, lead: str, stage: str, export_day: str, changed: str | None = None,
            closed: str | None = None, won: bool = False) -> str:  # fmt: skip
    def at(value: str | None) -> str:
        return f"timestamp '{value}'" if value else "cast(null as timestamp)"

    return (f"('{opp}', '{lead}', '{stage}', {str(closed is not None).lower()}, {str(won).lower()},"
            f" timestamp '2026-10-01 00:00:00', {at(closed)}, {at(changed)}, date '{export_day}')")  # fmt: skip


VERSIONS = [
    # re-opened, the export's own stage change times
    version("back", "L1", "Qualification", "2026-10-06", changed="2026-10-05 10:00:00"),
    version("back", "L1", "Closed Lost", "2026-10-11", changed="2026-10-10 12:00:00", closed="2026-10-10 12:00:00"),
    version("back", "L1", "Qualification", "2026-10-16", changed="2026-10-15 09:00:00"),
    # no stage_changed_at: Prospecting in two exports, then Proposal in the export of 9 October
    version("plain", "L2", "Prospecting", "2026-10-06"),
    version("plain", "L2", "Prospecting", "2026-10-08"),
    version("plain", "L2", "Proposal", "2026-10-09"),
    # re-opened without stage_changed_at
    version("back_plain", "L3", "Qualification", "2026-10-06"),
    version("back_plain", "L3", "Closed Lost", "2026-10-08", closed="2026-10-07 15:00:00"),
    version("back_plain", "L3", "Qualification", "2026-10-11"),
]
POINTS = {"L1": ("2026-10-12", "2026-10-20"), "L2": ("2026-10-07", "2026-10-09", "2026-10-12"),
          "L3": ("2026-10-09", "2026-10-12")}  # fmt: skip
# (score point, opportunity) -> lost_by_then, closed_by_then, stage_index, stage_changed_at
EXPECTED = {
    ("L1@2026-10-12", "back"): (1, 1, 2, "2026-10-10 12:00:00"),
    ("L1@2026-10-20", "back"): (0, 0, 2, "2026-10-15 09:00:00"),  # the old rule: lost for ever
    ("L2@2026-10-07", "plain"): (0, 0, 1, None),  # the export of the 6th, known from the 7th
    ("L2@2026-10-09", "plain"): (0, 0, 1, None),  # Proposal's export (the 9th) known only from the 10th
    ("L2@2026-10-12", "plain"): (0, 0, 3, "2026-10-10 00:00:00"),
    ("L3@2026-10-09", "back_plain"): (1, 1, 2, "2026-10-09 00:00:00"),
    ("L3@2026-10-12", "back_plain"): (0, 0, 2, "2026-10-12 00:00:00"),
}


def test_the_latest_version_known_at_the_point_decides(tmp_path):
    points = ", ".join(f"('p', '{lead}@{day}', timestamp '{day} 12:00:00', '{lead}')"
                       for lead, days in POINTS.items() for day in days)  # fmt: skip
    query = f"""
        with opportunity_versions as (select * from (values {", ".join(VERSIONS)}) as v ({COLUMNS})),
        points as (select * from (values {points}) as p (person_id, score_point, as_of_at, lead_id)),
        known as ({{{{ opportunities_known_at('points') }}}})
        select score_point, opportunity_id, lost_by_then, closed_by_then, stage_index,
            cast(stage_changed_at as varchar) as stage_changed_at
        from known
    """
    lake = tmp_path / "lake"
    lake.mkdir()
    done = run_dbt(tmp_path, lake, "show", "--inline", query, "--limit", "100", "--output", "json",
                   "--log-format", "json")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    shown = [json.loads(line)["data"]["preview"] for line in done.stdout.splitlines()
             if line.startswith("{") and "preview" in line]  # fmt: skip
    known = {(r["score_point"], r["opportunity_id"]): (r["lost_by_then"], r["closed_by_then"], r["stage_index"],
                                                       r["stage_changed_at"])
             for r in json.loads(shown[-1])}  # fmt: skip
    assert known == EXPECTED
