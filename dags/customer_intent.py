"""
### customer_intent

Daily run of the customer-intent warehouse for the data interval
`[data_interval_start, data_interval_end)`:

1. **extract_{forms,email,web,crm}** (parallel): parse the landing drop
   `<landing>/<source>/dt=<interval start>/`, write the interval's Parquet
   partition of the raw lake (replacing it on a re-run) and quarantine every
   rejected row with its reason.
2. **validate_raw**: Great Expectations suites on the raw partitions; a
   critical failure stops the run before dbt.
3. **dbt_build**: one `dbt build` (seeds, models, data tests; dbt's unit
   tests only with `INTENT_DBT_UNIT_TESTS=1`), the only writer of the DuckDB
   warehouse; the interval reaches dbt as `INTENT_INTERVAL_START` /
   `INTENT_INTERVAL_END` and scores are computed as of its end.
4. **validate_marts**: GX suites on the marts; a failure blocks activation.
5. **activate**: push the high-intent segment to the CRMs and alert chat on
   newly hot leads and funnel stalls (or write the outbox when HubSpot or
   DingTalk has no connection).
6. **summarize**: one JSON summary of the run under the reports folder.
7. **train_conversion_model** (beside validate_marts, after dbt_build): when
   the newest model is `INTENT_MODEL_RETRAIN_DAYS` (7) days older than this
   interval, train the lead-conversion model on the CRM outcomes and approve
   it when it passes; the next dbt_build scores with it. It reads the
   warehouse read-only, so it never competes for the lock.

Settings: `INTENT_*` environment variables (docs/configuration.md).
Connections: `hubspot_default`, `dingtalk_default`; optional `wecom_default`,
`feishu_default`, `slack_default`, `salesforce_default`,
`crm_webhook_default` (docs/activation.md).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

SOURCES = ("forms", "email", "web", "crm")
MARTS = Asset("intent://warehouse/marts")


@dag(
    dag_id="customer_intent",
    # A real data interval (start < end), so every run owns one day's partition.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # DuckDB allows one writer per file: runs of this DAG never overlap.
    max_active_runs=1,
    tags=["intent", "warehouse", "reverse-etl"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
)
def customer_intent():
    @task(multiple_outputs=False)
    def extract(source: str) -> dict:
        from intent_pipeline import pipeline

        return pipeline.extract_task(source, **pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def validate_raw(manifests: list[dict]) -> dict:
        from intent_pipeline import pipeline

        return pipeline.validate_task("raw", **pipeline.interval_from_context())

    @task(multiple_outputs=False, outlets=[MARTS])
    def dbt_build(raw_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.dbt_build_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def validate_marts(dbt_result: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.validate_task("marts", **pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def activate(marts_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.activate_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def train_conversion_model(dbt_result: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.train_model_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def summarize(activation_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.summary_task(**pipeline.interval_from_context())

    manifests = [extract.override(task_id=f"extract_{source}")(source) for source in SOURCES]
    built = dbt_build(validate_raw(manifests))
    summarize(activate(validate_marts(built)))
    train_conversion_model(built)


customer_intent()
