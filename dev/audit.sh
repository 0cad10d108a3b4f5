#!/usr/bin/env bash
# Dependency and secret audit.
#
#   dev/audit.sh              pip-audit (backend/requirements.txt) + npm audit --omit=dev (frontend)
#   dev/audit.sh deps         same as above
#   dev/audit.sh baseline     rescan repo files into .secrets.baseline (keeps earlier audit verdicts);
#                             then review new entries: .venv/bin/detect-secrets audit .secrets.baseline
#
# The vulnerability databases (PyPI/OSV advisories, npm's audit endpoint) are not reachable from the
# CI sandbox, so the image tier does not run this; run it on a machine with normal internet access.
# Every dependency is pinned exactly (requirements.txt `==`, package-lock.json), so results are reproducible.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
AUDIT_VENV=$ROOT/.cache/audit-venv
PIP_AUDIT_VERSION=2.10.1

deps() {
  local rc=0
  if [ ! -x "$AUDIT_VENV/bin/pip-audit" ]; then
    python3 -m venv "$AUDIT_VENV"
    "$AUDIT_VENV/bin/pip" install --quiet "pip-audit==$PIP_AUDIT_VERSION"
  fi
  echo "== pip-audit: backend/requirements.txt"
  "$AUDIT_VENV/bin/pip-audit" --strict --requirement "$ROOT/backend/requirements.txt" || rc=1
  echo "== npm audit --omit=dev: frontend"
  (cd "$ROOT/frontend" && npm audit --omit=dev --audit-level=low) || rc=1
  return $rc
}

baseline() {
  cd "$ROOT"
  local files
  mapfile -d '' files < <(git ls-files --cached --others --exclude-standard -z)
  local existing=()
  for f in "${files[@]}"; do
    if [ -f "$f" ] && [ "$f" != .secrets.baseline ]; then existing+=("$f"); fi
  done
  if [ -f .secrets.baseline ]; then
    "$VENV/bin/detect-secrets" scan -n --baseline .secrets.baseline "${existing[@]}"
  else
    "$VENV/bin/detect-secrets" scan -n --exclude-files '(^|/)package-lock\.json$' "${existing[@]}" > .secrets.baseline
  fi
  echo "updated .secrets.baseline; audit new entries: $VENV/bin/detect-secrets audit .secrets.baseline"
}

case ${1:-deps} in
  deps) deps ;;
  baseline) baseline ;;
  -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) echo "audit.sh: unknown command '$1' (deps | baseline)" >&2; exit 2 ;;
esac
