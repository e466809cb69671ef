#!/usr/bin/env bash
# dbt docs for the warehouse: generate the site and serve it (make docs; DOCS_PORT, default 8081;
# DOCS_SERVE=0 only generates). No environment to set by hand: the catalog is read from a copy of
# the newest run snapshot (or of the build file when no run made one), never from the build file
# a running pipeline may be writing; without any warehouse the site has an empty catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
python - <<'PY'
import os, shutil, subprocess, sys, tempfile
from pathlib import Path
from datetime import date

from intent_pipeline.pipeline import dbt_env, interval_dates, model_vars
from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

settings = Settings.from_env()
docs = settings.state_dir / "dbt" / "docs"
snapshots = sorted((settings.state_dir / "snapshots").glob("*.duckdb"), key=lambda p: p.stat().st_mtime)
source = snapshots[-1] if snapshots else (settings.warehouse if settings.warehouse.exists() else None)
with tempfile.TemporaryDirectory() as tmp:
    warehouse = Path(tmp) / "warehouse.duckdb"
    if source is not None:
        shutil.copyfile(source, warehouse)
    start, end = interval_dates(date.today())
    env = dbt_env(settings.model_copy(update={"warehouse": warehouse}), start, end)
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt) if dbt.exists() else "dbt", "docs", "generate",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(docs), "--log-path", str(settings.state_dir / "dbt" / "logs")]
    variables = model_vars(settings)
    if variables:
        import json
        command += ["--vars", json.dumps(variables)]
    if source is None:
        command.append("--empty-catalog")
    print(f"dbt docs generate (catalog from {source or 'nothing: empty catalog'}) -> {docs}", flush=True)
    sys.exit(subprocess.run(command, env=env).returncode)
PY
DOCS="$(python -c 'from intent_pipeline.settings import Settings; print(Settings.from_env().state_dir / "dbt" / "docs")')"
# serve reads the profile, which names the warehouse; it does not open it
export INTENT_WAREHOUSE="${INTENT_WAREHOUSE:-$(python -c 'from intent_pipeline.settings import Settings; print(Settings.from_env().warehouse)')}"
if [ "${DOCS_SERVE:-1}" != "0" ]; then
  echo "serving dbt docs on http://localhost:${DOCS_PORT:-8081} (Ctrl-C to stop)"
  exec dbt docs serve --project-dir dbt_project --profiles-dir dbt_project --target-path "$DOCS" --port "${DOCS_PORT:-8081}" --no-browser
fi
