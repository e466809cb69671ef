"""
### customer_intent

Daily run of the customer-intent warehouse for the data interval
`[data_interval_start, data_interval_end)`. **Logical date = interval start**
for every kind of run: scheduled, backfill (`airflow backfill create
--from-date D --to-date D`) and `make run DATE=D` (a one-day backfill run by
the scheduler), so one day is one run whichever way it was started. The
UI's plain Trigger (logical date "now", no interval) is refused by the first
tasks; to run day D from the UI choose Data interval: Manual, start D 00:00,
end D + 1 00:00, logical date D 00:00 (UTC). Run ids carry the interval's
end (Airflow's `run_after`): `backfill__2026-11-22…` is the day 2026-11-21.

1. **extract_{forms,email,web,crm}** (parallel): parse the landing drop
   `<landing>/<source>/dt=<interval start>/`, write the interval's Parquet
   partition of the raw lake (replacing it on a re-run) and quarantine every
   rejected row with its reason.
2. **validate_raw**: Great Expectations suites on the raw partitions; a
   critical failure stops the run before dbt. When no source delivered a
   single row for the interval, the rest of the run is skipped (the
   warehouse and the serving copy stay as they were).
3. **dbt_build** (pool `intent_warehouse`, 1 slot): one `dbt build` (seeds,
   models, data tests; dbt's unit tests only with `INTENT_DBT_UNIT_TESTS=1`),
   the only writer of the DuckDB build file; the interval reaches dbt as
   `INTENT_INTERVAL_START` / `INTENT_INTERVAL_END` and scores are computed
   as of its end. It then copies the closed file to the run's snapshot,
   which every later task of the run reads. With `INTENT_ENGINE=postgres`
   it first loads the interval's raw partitions into Postgres and builds
   there; the gates, activation and the summary then read the marts in
   Postgres, and publish has nothing to copy (docs/portability.md). The
   param `full_refresh` (default false; a manual run with
   `--conf '{"full_refresh": true}'` or the Trigger form) adds
   `--full-refresh`: every incremental model rebuilt from the whole lake
   (docs/incremental.md).
4. **validate_marts**: GX suites on the run's marts; a failure blocks
   publishing and activation.
5. **publish** (pool `intent_warehouse`): the validated marts to the serving
   copy BI tools read (`data/serving/warehouse.duckdb`, swapped in by rename,
   and Parquet per mart); BI never opens the build file.
6. **activate**: push the high-intent segment to the CRMs and alert chat on
   newly hot leads and funnel stalls (or write the outbox when HubSpot or
   DingTalk has no connection).
7. **summarize** (after activate, publish and train_conversion_model): one
   JSON summary of the run under the reports folder, naming the model this
   run trained (`python -m intent_pipeline summary --date D` prints it).
8. **retention** (pool `intent_warehouse`, after publish): purge the raw
   and quarantine partitions older than `INTENT_RETENTION_RAW_DAYS` (400)
   and `INTENT_RETENTION_QUARANTINE_DAYS` (90) days before the interval's
   end, with an audit record (docs/privacy.md, "Retention"). It holds the
   pool so that no other run's dbt_build reads a partition it removes.
9. **build_dashboard** (after summarize): rebuild the dashboards
   (`dashboard/build.sh`, what `make dashboard` runs) from the serving copy
   just published. Off unless `INTENT_DASHBOARD_BUILD=1`; skipped, saying
   why in its log, when off or when npm is not on the worker.
10. **train_conversion_model** (beside validate_marts, after dbt_build): when
   the newest model is `INTENT_MODEL_RETRAIN_DAYS` (7) days older than this
   interval, train the lead-conversion model on the CRM outcomes and approve
   it when it passes; the next dbt_build scores with it. It reads the run's
   snapshot, so it never competes for the lock.

The pool `intent_warehouse` (1 slot) is created by the setup
(`scripts/airflow-init.sh`, the compose init): scheduled, manual and backfill
runs of any dates never write the warehouse at the same time.

Settings: `INTENT_*` environment variables (docs/configuration.md). Every task is
retried twice, Airflow's `[core] default_task_retry_delay` apart (120 s as the project's
setups configure Airflow; docs/operations.md, "Retries").
Connections: `hubspot_default`, `dingtalk_default`; optional `wecom_default`,
`feishu_default`, `slack_default`, `salesforce_default`,
`crm_webhook_default` (docs/activation.md). Operations: docs/operations.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

SOURCES = ("forms", "email", "web", "crm")
MARTS = Asset("intent://warehouse/marts")
SERVING = Asset("intent://serving/marts")
# One slot: every task that writes the warehouse or its serving copy, or purges the lake it is built
# from, holds it, so no two runs (scheduled, manual, backfill: each kind has its own max_active_runs
# lane) write at once.
WAREHOUSE_POOL = "intent_warehouse"


@dag(
    dag_id="customer_intent",
    # A real data interval (start < end), so every run owns one day's partition.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # Scheduled runs one at a time; backfills have their own lane, hence the pool below.
    max_active_runs=1,
    tags=["intent", "warehouse", "reverse-etl"],
    # Two more tries for what is transient (a BI session holding the build file, an API timeout); the
    # wait between tries is Airflow's own `[core] default_task_retry_delay`
    # (AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY), which the project's setups set to 120 s (docs/operations.md).
    default_args={"owner": "data-engineering", "retries": 2},
    doc_md=__doc__,
    # A manual run can rebuild every incremental model from the whole lake (docs/incremental.md);
    # scheduled and backfill runs take the default.
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            title="Full refresh",
            description="dbt build --full-refresh: rebuild every incremental model from every lake partition",
        )
    },
)
def customer_intent():
    @task(multiple_outputs=False)
    def extract(source: str) -> dict:
        from intent_pipeline import pipeline

        return pipeline.extract_task(source, **pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def validate_raw(manifests: list[dict]) -> dict:
        from intent_pipeline import pipeline

        interval = pipeline.interval_from_context()
        pipeline.skip_without_landing_data(manifests, interval["interval_start"])
        return pipeline.validate_task("raw", **interval)

    @task(multiple_outputs=False, outlets=[MARTS], pool=WAREHOUSE_POOL)
    def dbt_build(raw_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.dbt_build_task(
            **pipeline.interval_from_context(), full_refresh=pipeline.full_refresh_from_context()
        )

    @task(multiple_outputs=False)
    def validate_marts(dbt_result: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.validate_task("marts", **pipeline.interval_from_context())

    @task(multiple_outputs=False, outlets=[SERVING], pool=WAREHOUSE_POOL)
    def publish(marts_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.publish_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def activate(marts_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.activate_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def train_conversion_model(dbt_result: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.train_model_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def summarize(activation_report: dict, serving: dict, model_report: dict) -> dict:
        from intent_pipeline import pipeline

        return pipeline.summary_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False, pool=WAREHOUSE_POOL)
    def retention(serving: dict) -> dict:
        from intent_pipeline import pipeline
        from intent_pipeline.privacy import retention as lake_retention

        return lake_retention.retention_task(**pipeline.interval_from_context())

    @task(multiple_outputs=False)
    def build_dashboard(summary: dict) -> dict:
        from intent_pipeline import dashboard, pipeline

        return dashboard.build_task(pipeline.interval_from_context()["run_id"])

    manifests = [extract.override(task_id=f"extract_{source}")(source) for source in SOURCES]
    built = dbt_build(validate_raw(manifests))
    marts_report = validate_marts(built)
    served = publish(marts_report)
    # the dashboards read the serving copy (the gates' verdicts: marts.quality_gate_results, added by publish)
    # and the previous run's summary (newly hot leads, stalls): rebuilt after the summary
    # and the model trained in this run (the summary names the model the next build scores with): after training
    build_dashboard(summarize(activate(marts_report), served, train_conversion_model(built)))
    retention(served)


customer_intent()
