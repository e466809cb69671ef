#!/usr/bin/env bash
# Set up the venv with the test and lint tools if missing, lint, type-check, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
source scripts/env.sh
ruff check .
ruff check --select AIR3 dags/
mypy
# every core (PYTEST_WORKERS=0 runs in this process), one test file per worker at a time: a file's
# module fixtures are built once, and the session's dbt warehouse is built once for all workers
python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
