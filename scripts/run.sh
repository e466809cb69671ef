#!/usr/bin/env bash
# Set up, generate the sample workload if the interval has no landing drop yet, run the
# customer_intent DAG once through Airflow 3's scheduler (SQLite metadata, DuckDB warehouse),
# print the run's saved summary.
#   DATE    interval start (YYYY-MM-DD), default 2026-11-21
#   PEOPLE  size of the generated sample, default 3000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
DATE=${DATE:-2026-11-21}
PEOPLE=${PEOPLE:-3000}
DATA="${INTENT_HOME:-$ROOT}/data"
mkdir -p "$DATA/logs"
scripts/airflow-init.sh

if [ -z "${INTENT_LANDING_URL:-}" ] && [ ! -d "$DATA/landing/forms/dt=$DATE" ]; then
  echo "generating the sample workload ($PEOPLE people, interval $DATE)..."
  python -m intent_pipeline synth --people "$PEOPLE" --date "$DATE" \
    --landing "$DATA/landing" --truth "$DATA/ground_truth" | tail -1
fi

# One run per day with logical date = interval start, through the real scheduler (a one-day
# backfill; a completed run of that day runs again): its task logs are in the UI, its times real.
log="$DATA/logs/customer_intent-$DATE.log"
echo "running customer_intent for the interval starting $DATE through the Airflow scheduler (log: $log)..."
start=$(date +%s)
if ! python scripts/airflow_run.py --from "$DATE" > "$log" 2>&1; then
  tail -20 "$log"
  echo "customer_intent FAILED for interval $DATE: the task logs are in the UI (make airflow-ui) and under $AIRFLOW_HOME/logs" >&2
  exit 1
fi
echo "pipeline finished in $(( $(date +%s) - start )) s"
echo
python -m intent_pipeline summary --date "$DATE"
