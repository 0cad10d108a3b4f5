#!/usr/bin/env bash
# Mutation testing of the security modules (dev/mutation/mutate.py; --help there). Not part of
# ./dev/test.sh or CI: it takes about 20 minutes on 2 CPUs.
#
#   dev/mutation/run.sh [--only csrf,hashing] [--baseline] [--keep]
#
# Needs the virtualenv ./dev/test.sh creates (.venv); adds the pinned mutmut to it, and starts the
# toolkit's throwaway PostgreSQL (as ./dev/test.sh does) unless TEST_DATABASE_URL is set.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
REQUIREMENTS=$ROOT/dev/mutation/requirements.txt
[ -x "$VENV/bin/python" ] || { echo "run.sh: no $VENV: run ./dev/test.sh --only python once first" >&2; exit 1; }
export PATH="$VENV/bin:$PATH"

wanted=$(sed -n 's/^mutmut==\([^ ]*\).*/\1/p' "$REQUIREMENTS")
if [ "$(python -c 'import importlib.metadata as m; print(m.version("mutmut"))' 2>/dev/null)" != "$wanted" ]; then
  pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
fi

PG_DIR=""
cleanup() {
  [ -n "$PG_DIR" ] || return 0
  python -m taskpilot_dev.postgres stop --dir "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/taskpilot-pg.XXXXXX")
  TEST_DATABASE_URL=$(python -m taskpilot_dev.postgres start --dir "$PG_DIR")
fi
export TEST_DATABASE_URL

cd "$ROOT"
python dev/mutation/mutate.py "$@"
