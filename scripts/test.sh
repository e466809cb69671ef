#!/usr/bin/env bash
# Set up the same environment as scripts/run.sh if it is missing, lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
ruff check .
ruff check --select AIR3 dags/
python -m pytest "$@"
