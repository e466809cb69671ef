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
# SQLite metadata DB: check it is in write-ahead logging (Airflow sets it on every connection; it
# persists in the file), so readers never block a writer. WAL allows one writer at a time still: the
# REST trigger's 60 s stall was a deadlock inside one api-server process, avoided by running the
# task execution API in a process of its own (scripts/airflow_run.py). A no-op for Postgres.
python - <<'PY'
from airflow.configuration import conf

url = conf.get("database", "sql_alchemy_conn")
if url.startswith("sqlite:"):
    import sqlite3

    path = url.split("///", 1)[1].split("?", 1)[0]
    con = sqlite3.connect(path)
    mode = con.execute("pragma journal_mode=wal").fetchone()[0]
    con.close()
    assert mode == "wal", f"{path}: journal_mode {mode}"
PY
