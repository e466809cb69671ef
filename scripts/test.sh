#!/usr/bin/env bash
# Set up the venv with the test and lint tools if missing, lint, type-check, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
source scripts/env.sh
ruff check .
ruff check --select AIR3 dags/
mypy
python -m pytest "$@"
