#!/usr/bin/env bash
# shellcheck disable=SC2329  # tier functions are called through run_tier
# The one test command: every tier this machine can run, in one go.
#
#   ./dev/test.sh                    all tiers (python: ruff + mypy, then the suites incl. images when Docker answers;
#                                    frontend; browser; cluster: a real Kubernetes built from upstream, the chart by
#                                    Helm, real Tilt)
#   ./dev/test.sh --skip browser     leave out tiers (comma list: frontend, python, browser, cluster)
#   ./dev/test.sh --only python -- tests/chart -k lint    one tier; words after -- go to pytest
#   ./dev/test.sh --help
#
# Installs what it needs (virtualenv, Python requirements, npm packages; as root on Debian also the
# postgresql and chromium packages), starts one throwaway PostgreSQL unless TEST_DATABASE_URL is set,
# and exits non-zero when any tier fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
TIERS_ALL=(frontend python browser cluster)
SKIP="" ONLY="" PYTEST_ARGS=()

usage() { sed -n '3,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --skip) SKIP=${2:?--skip needs a comma list}; shift 2 ;;
    --only) ONLY=${2:?--only needs a comma list}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for t in ${SKIP//,/ } ${ONLY//,/ }; do
  [[ " ${TIERS_ALL[*]} " == *" $t "* ]] || { echo "test.sh: unknown tier '$t' (tiers: ${TIERS_ALL[*]})" >&2; exit 2; }
done
wanted() { # tier -> 0 when it should run
  if [ -n "$ONLY" ]; then [[ ",$ONLY," == *",$1,"* ]]; else [[ ",$SKIP," != *",$1,"* ]]; fi
}

START=$SECONDS
say() { printf '\n[test %4ds] %s\n' $((SECONDS - START)) "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }
is_debian_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_install() { # packages... (only as root on Debian; callers explain the alternative)
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

# ---------- prerequisites ----------
command -v python3 >/dev/null || die "python3 (3.11+) is missing: apt-get install python3 python3-venv | brew install python@3.13"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 is $(python3 -V); 3.11+ is needed"
if wanted frontend || wanted browser || wanted python; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then die "node 20.9+ and npm are missing: https://nodejs.org/en/download (or: apt-get install nodejs npm | brew install node@20)"; fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)' \
    || die "node is $(node -v); Next.js 16 needs 20.9 or newer"
fi
pg_bin() { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
if [ -z "${TEST_DATABASE_URL:-}" ] && ! pg_bin; then
  if is_debian_root; then apt_install postgresql; else
    die "PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install postgresql | brew install postgresql@15 — or set TEST_DATABASE_URL=postgresql://user:pw@host:port/postgres (a role that may CREATE DATABASE)"
  fi
fi
if wanted browser && [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  if is_debian_root; then apt_install chromium; else
    die "Chromium is missing for the browser tier: apt-get install chromium (or set CHROMIUM_PATH), or run with --skip browser"
  fi
fi

if wanted cluster; then
  [ "$(id -u)" = 0 ] || die "the cluster tier runs a Kubernetes node (containers, mounts, iptables): run as root, or --skip cluster"
  command -v go >/dev/null || die "Go 1.24+ is missing for the cluster tier (it builds Kubernetes, etcd, containerd, CoreDNS and Tilt): https://go.dev/dl — or --skip cluster"
  { command -v docker >/dev/null && docker info >/dev/null 2>&1; } || die "the cluster tier builds images with Docker, and no engine answers: start dockerd (./.ci/start-docker.sh) — or --skip cluster"
  missing=()
  for pkg_path in runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge docker-registry:/usr/bin/docker-registry iptables:/usr/sbin/iptables; do
    [ -e "${pkg_path#*:}" ] || missing+=("${pkg_path%%:*}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if is_debian_root; then apt_install "${missing[@]}"; else die "the cluster tier needs: ${missing[*]} (apt-get install ${missing[*]})"; fi
  fi
fi

# ---------- Python environment (reused while the requirements files are unchanged) ----------
REQS=(backend/requirements.txt backend/requirements-dev.txt dev/requirements.txt tests/requirements.txt)
stamp=$(cd "$ROOT" && cat "${REQS[@]}" dev/toolkit/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ]; then say "creating virtualenv $VENV"; python3 -m venv "$VENV"; fi
if [ "$(cat "$VENV/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
  say "installing Python requirements"
  req_args=(); for r in "${REQS[@]}"; do [ -f "$ROOT/$r" ] && req_args+=(-r "$ROOT/$r"); done
  "$VENV/bin/pip" install -q --disable-pip-version-check "${req_args[@]}"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT/dev/toolkit"
  echo "$stamp" > "$VENV/.requirements-stamp"
fi
export PATH="$VENV/bin:$PATH"
export NEXT_TELEMETRY_DISABLED=1   # hermetic: no calls home from next build/dev

# ---------- results ----------
declare -A RESULT=()
run_tier() { # name command... ; records ok/FAILED and never aborts the script
  local name=$1; shift
  say "tier $name: $*"
  if (cd "$ROOT" && "$@"); then RESULT[$name]=ok; else RESULT[$name]=FAILED; fi
}

# ---------- frontend: deps, lint, types, unit tests, production build ----------
frontend_deps() {
  local lock_hash; lock_hash=$(sha256sum "$ROOT/frontend/package-lock.json" | cut -c1-16)
  if [ "$(cat "$ROOT/frontend/node_modules/.lock-stamp" 2>/dev/null)" != "$lock_hash" ]; then
    say "npm ci (frontend)"
    (cd "$ROOT/frontend" && npm ci --no-audit --no-fund --loglevel=error) && echo "$lock_hash" > "$ROOT/frontend/node_modules/.lock-stamp"
  fi
}
frontend_build() { frontend_deps && cd frontend && npm run -s build; }
frontend_tier() {
  frontend_deps && (cd frontend && npm run -s lint && npm run -s typecheck && npm run -s test) && frontend_build
}
if wanted frontend; then run_tier frontend frontend_tier
elif { wanted python || wanted browser; } && { [ ! -f "$ROOT/frontend/.next/standalone/server.js" ] \
  || [ ! -f "$ROOT/frontend/.next/standalone/peer-address.mjs" ]; }; then
  run_tier frontend-build frontend_build   # later tiers serve the production build
fi

# ---------- one throwaway PostgreSQL for every tier ----------
PG_DIR=""
cleanup() {
  [ -n "$PG_DIR" ] || return 0
  python -m taskpilot_dev.postgres stop --dir "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
if [ -z "${TEST_DATABASE_URL:-}" ] && { wanted python || wanted browser; }; then
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/taskpilot-pg.XXXXXX")
  say "starting a throwaway PostgreSQL in $PG_DIR"
  TEST_DATABASE_URL=$(python -m taskpilot_dev.postgres start --dir "$PG_DIR") || die "could not start PostgreSQL (see above)"
fi
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-}"

# ---------- Python: code checks, then the suites (backend, chart, Tiltfile, helpers, scripts, images, e2e) ----------
python_checks() { # lint, format and types (ruff.toml, mypy.ini): what .pre-commit-config.yaml runs on commit
  say "python checks: ruff check, ruff format --check, mypy"
  ruff check --quiet . && ruff format --check --quiet . && mypy
}
python_tier() { # the checks run with the whole tier, not when words after -- pick tests
  local rc=0
  if [ ${#PYTEST_ARGS[@]} -eq 0 ]; then python_checks || rc=1; fi
  # Cluster tests need the cluster tier's stack: they run there, never skipped here.
  python -m pytest -m "not cluster" "${PYTEST_ARGS[@]}" || rc=1
  return "$rc"
}
# tests/tilt runs the pinned Tilt, which the cluster tier builds anyway: build it (cached by version)
# first. Without the cluster tier, a missing binary fails those tests with how to build it.
if wanted python && wanted cluster; then
  run_tier kube-build dev/kube/build.sh
fi
if wanted python; then
  run_tier python python_tier
fi

# ---------- browser end-to-end (Chromium via playwright-core) ----------
if wanted browser; then
  run_tier browser bash -c "cd frontend && npm run -s test:browser"
fi

# ---------- cluster: real Kubernetes, the chart by Helm, real Tilt (tests/cluster/tier.sh) ----------
if wanted cluster; then
  run_tier cluster tests/cluster/tier.sh
fi

# ---------- summary ----------
say "done in $((SECONDS - START)) s"
rc=0
for t in "${!RESULT[@]}"; do
  printf '  %-14s %s\n' "$t" "${RESULT[$t]}"
  [ "${RESULT[$t]}" = ok ] || rc=1
done
[ ${#RESULT[@]} -gt 0 ] || { echo "test.sh: no tier ran" >&2; rc=1; }
exit $rc
