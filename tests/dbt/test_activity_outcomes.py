"""CRM activity outcomes (issue 13): the export's optional Outcome through the raw contract, staging
and the conversion model's features, on the real build of the hand-written lake (whose activity
partitions predate the column: every outcome unknown) and on a later export that has it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.dbt.conftest import DAYS, copy_of, run_dbt

pytestmark = pytest.mark.slow

OUTCOME_FEATURES = (
    "select score_point, feature, value from intermediate.int_scoring_features"
    " where feature like 'log_sales_%_succeeded_all' or feature like 'log_sales_%_failed_all' order by 1, 2"
)


def write_activity_export(lake, day, rows: list[dict]) -> None:
    """One activities partition as the extract writes it today (lake.raw_columns: outcome included)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from intent_pipeline import lake as raw_lake

    types = {"string": pa.string(), "timestamp": pa.timestamp("us"), "date": pa.date32(), "int64": pa.int64()}
    columns = raw_lake.raw_columns("crm_activities")
    assert ("outcome", "string") in columns
    loaded = datetime.combine(day, datetime.min.time()) + timedelta(days=1, hours=2)
    full = [
        {name: None for name, _ in columns}
        | {
            "_source_file": f"crm/dt={day}/activities.csv",
            "_row_number": n,
            "_loaded_at": loaded,
            "_batch_id": f"test/crm/{day}",
            "_interval_start": day,
        }  # fmt: skip
        | row
        for n, row in enumerate(rows, start=1)
    ]
    folder = lake / "raw" / "crm_activities" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(name, types[kind]) for name, kind in columns])
    pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / "part-0.parquet")


def test_outcomes_are_unknown_without_the_column_and_counted_by_result_with_it(warehouse, tmp_path):
    assert warehouse.build.returncode == 0, warehouse.output
    # the hand-written lake's activity partitions have no outcome column: the build still runs, unknown
    counts = "select count(*), count(outcome), count(outcome_result) from staging.stg_crm__activities"
    assert warehouse.query(counts) == [(2, 0, 0)]
    assert warehouse.query(OUTCOME_FEATURES) == []

    build = copy_of(warehouse, tmp_path)
    later = DAYS[-1]  # the same export day, loaded later: it is the latest version of both activities
    base = {"lead_id": "00Qcarol", "owner": "Emily Chen", "subject": "follow-up"}
    write_activity_export(build.lake, later, [
        base | {"activity_id": "00Tcarol1", "activity_type": "Call", "outcome": " No answer ",
                "activity_at": datetime(2026, 11, 1, 10)},
        base | {"activity_id": "00Tcarol2", "activity_type": "Meeting", "outcome": "Completed",
                "activity_at": datetime(2026, 11, 6, 6)},
        base | {"activity_id": "00Tcarol3", "activity_type": "Call", "outcome": "Rescheduled",
                "activity_at": datetime(2026, 11, 7, 6)},
        base | {"activity_id": "00Tcarol4", "activity_type": "Email", "outcome": None,
                "activity_at": datetime(2026, 11, 8, 6)},
    ])  # fmt: skip
    done = run_dbt(
        build.base, build.lake, "run", "--full-refresh",
        "--select", "stg_crm__activity_versions", "stg_crm__activities", "int_scoring_features",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert build.query("select activity_id, outcome, outcome_result from staging.stg_crm__activities order by 1") == [
        ("00Tcarol1", "no_answer", "failure"),
        ("00Tcarol2", "completed", "success"),
        ("00Tcarol3", "rescheduled", None),  # says neither: counts only as a call
        ("00Tcarol4", None, None),
    ]
    features = build.query(OUTCOME_FEATURES)
    now = {(feature, round(value, 6)) for point, feature, value in features if point == "now:00Qcarol"}
    assert now == {("log_sales_call_failed_all", 0.693147), ("log_sales_meeting_succeeded_all", 0.693147)}
    # never before the point: at the lead's creation nothing of sales is known yet
    assert not [point for point, *_ in features if point.startswith("lead:")]
