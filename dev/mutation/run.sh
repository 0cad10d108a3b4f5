#!/usr/bin/env bash
# Mutation testing of the security modules (dev/mutation/mutate.py; --help there). Not part of
# ./dev/test.sh or CI: a full run takes about 12 minutes on 2 CPUs.
#
#   dev/mutation/run.sh [--only csrf,hashing] [--baseline] [--keep]
#
# Needs the virtualenv ./dev/test.sh creates (.venv) and adds the pinned mutmut to it; mutate.py starts
# the toolkit's throwaway PostgreSQL unless TEST_DATABASE_URL is set.
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

cd "$ROOT"
python dev/mutation/mutate.py "$@"
