#!/usr/bin/env bash
# Re-compiles requirements.txt (runtime) and requirements-dev.txt (+ test and lint tools) from
# requirements.in and requirements-dev.in with pip-tools (in requirements-dev.txt). Pins already in
# the .txt files are kept when the .in files allow them; to move one: --upgrade-package NAME.
# With hashes (pip then checks every download); takes a few minutes. Installs nothing. See docs/dependencies.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v pip-compile > /dev/null || { echo "pip-compile missing: .venv/bin/pip install pip-tools==7.7.0" >&2; exit 1; }
opts=(--quiet --strip-extras --no-emit-index-url --no-emit-find-links --generate-hashes)
pip-compile "${opts[@]}" "$@" -o requirements.txt requirements.in
pip-compile "${opts[@]}" "$@" -o requirements-dev.txt requirements-dev.in
# The dev set is resolved against the runtime pins (-c requirements.txt) and installs them first.
if [ "$(head -1 requirements-dev.txt)" != "-r requirements.txt" ]; then
  { echo "-r requirements.txt"; cat requirements-dev.txt; } > requirements-dev.txt.tmp
  mv requirements-dev.txt.tmp requirements-dev.txt
fi
