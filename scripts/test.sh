#!/usr/bin/env bash
# Lint and test edge_agent in the environment scripts/setup.sh made. Extra arguments go to pytest
# (e.g. scripts/test.sh -k interfaces).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EDGE_AGENT_VENV:-$ROOT/.venv}"
[ -x "$VENV/bin/python" ] || { echo "test.sh: no environment at $VENV; run scripts/setup.sh first" >&2; exit 1; }
cd "$ROOT"
PY_SOURCES=(edge_agent test scripts)
[ -d launch ] && PY_SOURCES+=(launch)

echo "== lint: ruff"
"$VENV/bin/ruff" check "${PY_SOURCES[@]}"
echo "== Python 3.10 compatibility (Humble): vermin"
"$VENV/bin/vermin" --target=3.10- --no-tips --violations --quiet "${PY_SOURCES[@]}"
echo "ok"
echo "== tests: pytest"
exec "$VENV/bin/python" -m pytest test "$@"
