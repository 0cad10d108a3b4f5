#!/usr/bin/env bash
# The cluster tier: a real single-node Kubernetes (./dev/kube.sh), the chart by the plain Helm path,
# the cluster acceptance suites against it, then real Tilt (`tilt ci`, then `tilt down`/`tilt up`),
# and a `down` that must leave the host as it found it. Run by ./dev/test.sh (tier `cluster`), as root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
say() { printf '\n[cluster %(%T)T] %s\n' -1 "$*"; }
RESULTS=${CLUSTER_TIER_RESULTS:-$ROOT/.cache/cluster-tier}
mkdir -p "$RESULTS"

say "host footprint before the cluster"
python -m taskpilot_dev.localkube footprint | tee "$RESULTS/footprint-before.json"

say "./dev/kube.sh up (builds the pinned components once)"
# A port the cluster needs, taken: up must refuse and name it.
python -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", 6443)); s.listen(); time.sleep(30)' &
holder=$!; sleep 1
if ./dev/kube.sh up >"$RESULTS/port-taken.txt" 2>&1; then echo "up ignored a taken port 6443" >&2; exit 1; fi
grep -q "port 6443 (kube-apiserver) is already in use" "$RESULTS/port-taken.txt" || { cat "$RESULTS/port-taken.txt"; exit 1; }
kill "$holder"; wait "$holder" 2>/dev/null || true
./dev/kube.sh up | tee "$RESULTS/up.txt"
./dev/kube.sh up | grep -q "already running" || { echo "a second up was not a no-op" >&2; exit 1; }
KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$RESULTS/up.txt")
context=$(sed -n 's/^context=//p' "$RESULTS/up.txt")
export KUBECONFIG E2E_KUBE_CONTEXT=$context E2E_REQUIRE_CLUSTER=1 KUBE_CONTEXT=$context
trap './dev/kube.sh status || true' ERR

say "plain Helm path: images, helm install --wait into an empty namespace, helm test"
python -m taskpilot_dev.localkube.stack deploy | tee "$RESULTS/helm-path.txt"

say "cluster acceptance on the Helm-installed stack"
python -m pytest -m cluster -p no:cacheprovider tests/cluster tests/e2e/test_cluster.py
# The persistence helper's real-cluster test talks to the backend on localhost:8000.
./port-forward.sh >"$RESULTS/port-forward.log" 2>&1 &
forward=$!
python -m pytest -m cluster -p no:cacheprovider tests/helpers/test_db_persistence_check.py::test_against_a_real_cluster
kill -TERM "$forward"; wait "$forward" || true  # TERM: a script's background job ignores INT

say "real Tilt: tilt ci from this tree, on a fresh namespace"
python -m taskpilot_dev.localkube.stack remove
if [ ! -f tilt-settings.yaml ]; then
  printf 'allowed_contexts:\n  - %s\n' "$context" >tilt-settings.yaml
elif ! grep -q -- "- $context" tilt-settings.yaml; then
  echo "tilt-settings.yaml does not allow context $context: add it under allowed_contexts" >&2
  exit 1
fi
# Tilt from the pinned build, and the project's Helm 4 (the Tiltfile runs `helm template`).
PATH="$(./dev/kube/build.sh --print):$(dirname "$(python -m taskpilot_dev.tools helm)"):$PATH"
export PATH TILT_PORT=10359 DOCKER_BUILDKIT=0
start=$SECONDS
tilt ci --context "$context" >"$RESULTS/tilt-ci.log" 2>&1 || { tail -80 "$RESULTS/tilt-ci.log"; exit 1; }
echo "tilt ci: green in $((SECONDS - start)) s" | tee "$RESULTS/tilt-ci.txt"
python -m pytest -m tilt_cycle -p no:cacheprovider tests/e2e
tilt down --context "$context" >>"$RESULTS/tilt-ci.log" 2>&1

say "./dev/kube.sh down leaves nothing behind"
trap - ERR
./dev/kube.sh down
./dev/kube.sh down | grep -q "nothing to remove" || { echo "a second down did not say there was nothing to remove" >&2; exit 1; }
python -m taskpilot_dev.localkube footprint | tee "$RESULTS/footprint-after.json"
cmp -s "$RESULTS/footprint-before.json" "$RESULTS/footprint-after.json" \
  || { echo "the host differs after down (before vs after above)" >&2; exit 1; }
say "cluster tier passed"
