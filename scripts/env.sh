# Sourced by the other scripts: the project's Airflow home and paths. Also usable by hand:
#   source scripts/env.sh && python scripts/airflow_run.py --serve   (make airflow-ui; not airflow standalone)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# The wait between a task's tries, in seconds (customer_intent retries each task twice): Airflow's
# `[core] default_task_retry_delay` (its own default 300 s); set it before sourcing to change it.
export AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY="${AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY:-120}"
# The DAG runs as soon as the scheduler sees it (a day without landing data is skipped, not built).
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
# SQLite metadata (the default here): components wait up to 60 s for its write lock, not 5 s
if [[ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" || "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}" == sqlite* ]]; then
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=intent_pipeline.airflow_sqlite.CONNECT_ARGS
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC=intent_pipeline.airflow_sqlite.CONNECT_ARGS
fi
export PYTHONPATH="$ROOT/plugins${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$ROOT/.venv/bin:$PATH"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
