#!/usr/bin/env bash
# Creates .venv and installs a pinned requirement set when it is missing or its files changed.
#   scripts/setup.sh        the runtime set, requirements.txt (make run, make airflow-ui, make bench)
#   scripts/setup.sh dev    + test, lint and type-check tools, requirements-dev.txt (make test, make lint)
# Each set's stamp in .venv is the hash of its files; the dev set includes the runtime set.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-runtime}" in
  runtime) set_name=runtime; file=requirements.txt; files=(requirements.txt) ;;
  dev) set_name=dev; file=requirements-dev.txt; files=(requirements.txt requirements-dev.txt) ;;
  *) echo "usage: scripts/setup.sh [runtime|dev]" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Python 3.11 is required (found: $("$PYTHON" --version)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp=".venv/.requirements-$set_name.sha256"
want=$(digest "${files[@]}")
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up .venv ($file, pinned with hashes, about a minute)..."
  start=$(date +%s)
  "$PYTHON" -m venv .venv
  # The pip that comes with Python 3.11 (23.x) refuses hashed requirements that another package asks
  # for with an extra ("mashumaro[msgpack] ... must have their versions pinned"): a newer pip first.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$file"
  echo "$want" > "$stamp"
  # The dev set installs the runtime set too.
  if [ "$set_name" = dev ]; then digest requirements.txt > .venv/.requirements-runtime.sha256; fi
  echo "venv ready in $(( $(date +%s) - start )) s"
fi
