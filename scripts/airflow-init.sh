#!/usr/bin/env bash
# The project's Airflow home made ready for runs: metadata DB migrated and the warehouse pool
# (one slot: every task that writes the warehouse or its serving copy holds it, so scheduled,
# manual and backfill runs never write at the same time; without the pool the scheduler would
# leave those tasks waiting). Idempotent; make run, make airflow-ui and the tests call it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
LOGS="${INTENT_HOME:-$ROOT}/data/logs"
mkdir -p "$LOGS" "$AIRFLOW_HOME"
airflow db migrate > "$LOGS/airflow-db-migrate.log" 2>&1 || { tail -30 "$LOGS/airflow-db-migrate.log"; exit 1; }
airflow pools set intent_warehouse 1 "customer_intent: one writer of the DuckDB warehouse at a time" \
  > "$LOGS/airflow-pools.log" 2>&1 || { tail -30 "$LOGS/airflow-pools.log"; exit 1; }
