"""Connection arguments for Airflow's SQLite metadata DB (the project's own Airflow home).

With SQLite, the scheduler, the api-server and the dag-processor share one database file that
allows one writer at a time; Python's sqlite3 gives up after 5 s waiting for the lock ("database
is locked": a triggered run answered 500, a task's state update failed). Waiting up to 60 s
instead is what the busy machines this runs on need. Used through
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS`` (scripts/env.sh, bench/operations.py), only
when the metadata DB is SQLite (Postgres takes other arguments).
"""

CONNECT_ARGS = {"timeout": 60}
