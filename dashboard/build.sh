#!/usr/bin/env bash
# Build the dashboards as static files from the current BI serving copy (make dashboard), or serve
# them with Observable Framework's preview server (make dashboard-dev: ./build.sh dev).
#   INTENT_HOME / INTENT_SERVING_DIR   where the serving copy is (default data/serving)
#   DASHBOARD_PORT                     the preview server's port (default 3000)
#   DASHBOARD_OUT                      the output folder (default dashboard/dist; relative to dashboard/)
# Output: a static site (serve it with any web server).
set -euo pipefail
cd "$(dirname "$0")"
source ../scripts/env.sh
command -v npm >/dev/null || { echo "dashboard: node and npm are needed (Node 18+; Debian: apt-get install nodejs npm)" >&2; exit 2; }

# the pinned packages (package-lock.json), installed again only when the lock changed
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# one published version for the whole build: publish may swap `current` meanwhile
parquet=$(python - <<'PY'
from intent_pipeline.serving import CURRENT, PARQUET_DIR, serving_dir
from intent_pipeline.settings import Settings
print((serving_dir(Settings.from_env()) / PARQUET_DIR / CURRENT).resolve())
PY
)
if ! compgen -G "$parquet/*.parquet" >/dev/null; then
  echo "dashboard: no published serving copy at $parquet: run the pipeline first (make run), then make dashboard" >&2
  exit 2
fi
export INTENT_DASHBOARD_PARQUET="$parquet"
export OBSERVABLE_TELEMETRY_DISABLE=true
# the data loaders must run again: the serving copy changed, their source did not. Only their
# outputs (cache/data) go: cache/_node holds Framework's bundles of node_modules imports (Plot, D3),
# one folder per package@version, rebuilt on every run before (a third of a rebuild's CPU)
rm -rf src/.observablehq/cache/data
echo "dashboard: reading $parquet"
if [ "${1:-}" = "dev" ]; then
  exec npx observable preview --host 127.0.0.1 --port "${DASHBOARD_PORT:-3000}" --no-open
fi
npx observable build
