"""The stage as the CRM knew it, on a generated world whose CRM exports show each stage change on its
day (issue 13, the sixteenth pass): the real extract of every day's opportunity export, the real
``stg_crm__opportunity_versions`` and the macro ``opportunities_known_at`` through real dbt."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

pytestmark = pytest.mark.slow

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"]  # var opportunity_stages


def test_between_two_stage_changes_the_known_stage_is_the_earlier(tmp_path):
    import duckdb
    from intent_pipeline import pipeline
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import extract_source
    from intent_pipeline.synth import generate

    home = tmp_path / "home"
    settings = Settings.from_env({"INTENT_HOME": str(home)})
    summary = generate(settings.landing_url, home / "truth", people=300, seed=5, interval_start=date(2026, 11, 21),
                       history_days=120, world_name="sales_led", opportunity_history=True)  # fmt: skip
    for day in [*summary["opportunity_history"]["days"], *summary["drops"]]:
        extract_source("crm", settings, date.fromisoformat(day), batch_id="test/crm", loaded_at=datetime(2026, 11, 22))
    target = tmp_path / "target"
    done = pipeline.run_dbt(settings, "run", "--select", "stg_crm__opportunity_versions", interval=None, target=target)
    assert done.returncode == 0, done.stdout[-3000:]

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            "select opportunity_id, lead_id, stage, stage_changed_at from staging.stg_crm__opportunity_versions"
            " order by opportunity_id, _interval_start"
        ).fetchall()
    versions: dict[str, list[tuple[str, str, datetime]]] = {}
    for opp, lead, stage, changed in rows:
        versions.setdefault(opp, []).append((lead, stage, changed))
    # the warehouse sees each opportunity's changes, a later export a later change
    assert all([v[2] for v in vs] == sorted(v[2] for v in vs) for vs in versions.values())
    assert sum(len({v[2] for v in vs}) >= 3 for vs in versions.values()) >= 0.3 * len(versions)

    # points halfway between two open stages, the stages before them in order
    points, expected = [], {}
    for vs in versions.values():
        seen = 0
        for (lead, stage, changed), (_, later, later_at) in zip(vs, vs[1:], strict=False):
            if stage not in STAGES[:4] or later not in STAGES[:4] or STAGES.index(stage) < seen:
                break
            seen = STAGES.index(stage)
            if STAGES.index(later) > seen and (later_at - changed).total_seconds() > 2:
                point = changed + (later_at - changed) / 2
                expected[len(points)] = (seen + 1, str(changed))
                points.append(f"('p', {len(points)}, timestamp '{point}', '{lead}')")
                break
    assert len(points) >= 5, versions
    query = f"""
        with opportunity_versions as (select * from {{{{ ref('stg_crm__opportunity_versions') }}}}),
        points as (
            select * from (values {", ".join(points)}) as p (person_id, score_point, as_of_at, lead_id)
        ),
        known as ({{{{ opportunities_known_at('points') }}}})
        select score_point, stage_index, cast(stage_changed_at as varchar) as stage_changed_at from known
    """
    done = pipeline.run_dbt(settings, "show", "--inline", query, "--limit", "1000", "--output", "json",
                            "--log-format", "json", interval=None, target=target)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    shown = [json.loads(line)["data"]["preview"] for line in done.stdout.splitlines()
             if line.startswith("{") and "preview" in line]  # fmt: skip
    known = {r["score_point"]: (r["stage_index"], r["stage_changed_at"]) for r in json.loads(shown[-1])}
    assert known == expected
