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
# and, where a real Python 3.10 is on the machine, let it compile every file
PY310=""
for cand in "$(command -v python3.10 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
  if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'pass' 2>/dev/null; then PY310="$cand"; break; fi
done
if [ -n "$PY310" ]; then
  find "${PY_SOURCES[@]}" -name '*.py' -print0 | xargs -0 "$PY310" -c '
import ast, sys
for path in sys.argv[1:]:
    ast.parse(open(path, encoding="utf-8").read(), path)
print(f"{len(sys.argv) - 1} files parse with Python", sys.version.split()[0])'
fi
echo "ok"
echo "== tests: pytest"
exec "$VENV/bin/python" -m pytest test "$@"
