#!/usr/bin/env bash
# Set up, generate the sample workload if the interval has no landing drop yet, run the
# customer_intent DAG once through Airflow 3 (SQLite metadata, DuckDB warehouse), print the summary.
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

airflow db migrate > "$DATA/logs/airflow-db-migrate.log" 2>&1 || { tail -30 "$DATA/logs/airflow-db-migrate.log"; exit 1; }

if [ -z "${INTENT_LANDING_URL:-}" ] && [ ! -d "$DATA/landing/forms/dt=$DATE" ]; then
  echo "generating the sample workload ($PEOPLE people, interval $DATE)..."
  python -m intent_pipeline synth --people "$PEOPLE" --date "$DATE" \
    --landing "$DATA/landing" --truth "$DATA/ground_truth" | tail -1
fi

# A manual run with logical date D covers the interval [D - 1 day, D).
logical=$(python -c "import datetime as d; print(d.date.fromisoformat('$DATE') + d.timedelta(days=1))")
log="$DATA/logs/customer_intent-$DATE.log"
echo "running customer_intent for [$DATE, $logical) through Airflow (log: $log)..."
start=$(date +%s)
if ! airflow dags test customer_intent "$logical" > "$log" 2>&1; then
  grep -E "ERROR|Error|failed|Traceback" "$log" | tail -40
  echo "customer_intent FAILED for interval $DATE; full log: $log" >&2
  exit 1
fi
echo "pipeline finished in $(( $(date +%s) - start )) s"
echo
python -m intent_pipeline summary --date "$DATE"
