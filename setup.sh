#!/usr/bin/env bash
# One command from a fresh laptop (with Docker) to TaskPilot AI on http://localhost:3000 and :8000.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./setup.sh [--no-tilt] [--no-port-forward] [--help]

Sets up everything on a local minikube cluster:
  1. checks prerequisites (docker running, minikube, kubectl, helm, python3, tilt) with minimum versions
  2. starts minikube (or reuses it): 4 CPUs, 8192 MB, driver docker
  3. enables the ingress addon
  4. creates the namespace 'taskpilot'
  5. installs the Python helpers (dev/requirements.txt) into .venv
  6. runs 'tilt up' (live update; UI on http://localhost:10350, app on :3000 and :8000)

With --no-tilt, steps 6+ follow the plain path instead:
  6. builds the images taskpilot-frontend and taskpilot-backend
  7. loads them into minikube ('minikube image load')
  8. 'helm upgrade --install taskpilot-ai' with values.yaml + values-dev.yaml
  9. waits for the rollouts and until the pods are Ready (kubectl wait -l app=...)
 10. port-forwards 3000 and 8000 (./port-forward.sh; Ctrl-C stops it)

Options:
  --no-tilt           build, load and helm-install without Tilt (the spec's plain path)
  --no-port-forward   with --no-tilt: stop after the pods are Ready, do not start port forwards
  -h, --help          show this help and exit

Environment:
  MINIKUBE_PROFILE, MINIKUBE_CPUS, MINIKUBE_MEMORY, MINIKUBE_DRIVER, MINIKUBE_K8S_VERSION
                      as in ./setup-minikube.sh --help (defaults: minikube, 4, 8192, docker)
  TASKPILOT_NAMESPACE namespace (default: taskpilot)
  HELM_RELEASE        release name (default: taskpilot-ai)
  IMAGE_TAG           tag for the --no-tilt images (default: a fresh local-<timestamp> tag)
  VENV_DIR            virtualenv for the Python helpers (default: .venv)
  WAIT_TIMEOUT        readiness timeout for --no-tilt (default: 300s)
  NO_COLOR, TRACE     no colours / print every command

Safe to re-run: every step reuses what already exists. Remove everything with ./cleanup.sh.
Switching between the Tilt path and --no-tilt needs the other one's objects removed first
('tilt down' or 'helm uninstall'; both keep the database): the script stops and says which.
USAGE
}

USE_TILT=1
PORT_FORWARD=1
while (($#)); do
  case "$1" in
    --no-tilt) USE_TILT=0 ;;
    --no-port-forward) PORT_FORWARD=0 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'error: unknown option: %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=dev/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/lib/common.sh"
# shellcheck source=dev/lib/cluster.sh
source "$TASKPILOT_ROOT/dev/lib/cluster.sh"
install_error_trap
cd "$TASKPILOT_ROOT"

VENV_DIR="${VENV_DIR:-$TASKPILOT_ROOT/.venv}"
IMAGE_TAG="${IMAGE_TAG:-local-$(date +%Y%m%d%H%M%S)}"
WAIT_TIMEOUT="${WAIT_TIMEOUT:-300s}"
CHART_DIR="helm/taskpilot-ai"
if ((USE_TILT)); then STEP_TOTAL=6; elif ((PORT_FORWARD)); then STEP_TOTAL=10; else STEP_TOTAL=9; fi

# Interrupted or failed midway: every step is idempotent, so say how to resume or undo.
on_exit() {
  local status=$?
  if ((status != 0)); then
    printf '%s\n' "setup stopped during step '${CURRENT_STEP:-startup}'. Re-run ./setup.sh to resume (steps are idempotent) or ./cleanup.sh to remove what was created." >&2
  fi
}
trap on_exit EXIT

install_python_helpers() {
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    run python3 -m venv "$VENV_DIR" ||
      die "could not create $VENV_DIR." "Debian/Ubuntu: sudo apt-get install python3-venv"
  fi
  if [[ -f dev/requirements.txt ]]; then
    run "$VENV_DIR/bin/pip" install --quiet -r dev/requirements.txt -e dev/toolkit ||
      die "pip could not install dev/requirements.txt and dev/toolkit." "check your network, then re-run ./setup.sh"
  else
    warn "dev/requirements.txt not found; skipping the Python helpers"
  fi
}

# The two install paths own the same objects in different ways: Tilt applies them itself (labelled
# app.kubernetes.io/managed-by=tilt, no Helm release), `--no-tilt` keeps them in a Helm release.
# Helm refuses objects without its ownership metadata, and Tilt would silently take over a release's
# objects, so switching paths needs the other one removed first. Both removals keep the database
# volume (the StatefulSet's claim belongs to neither).
require_no_tilt_objects() {
  local objects
  objects="$(kubectl --context "$KUBE_CONTEXT" get deployments,statefulsets,jobs,services -n "$TASKPILOT_NAMESPACE" \
    -l app.kubernetes.io/managed-by=tilt -o name 2>/dev/null || true)"
  [[ -z "$objects" ]] && return 0
  error "namespace '$TASKPILOT_NAMESPACE' holds what 'tilt up' deployed ($(wc -l <<<"$objects") objects, e.g. $(head -n1 <<<"$objects")); Helm cannot adopt objects it did not create."
  printf '  run first (keeps the database volume):\n    tilt down --context %s\n  then: %s --no-tilt\n' "$KUBE_CONTEXT" "$0" >&2
  trap - EXIT
  exit 1
}

require_no_helm_release() {
  helm --kube-context "$KUBE_CONTEXT" status "$HELM_RELEASE" -n "$TASKPILOT_NAMESPACE" >/dev/null 2>&1 || return 0
  error "namespace '$TASKPILOT_NAMESPACE' holds Helm release '$HELM_RELEASE' (from '$0 --no-tilt'); Tilt would take over objects the release owns."
  printf '  run first (keeps the database volume):\n    helm --kube-context %s uninstall %s -n %s\n  then: %s\n' \
    "$KUBE_CONTEXT" "$HELM_RELEASE" "$TASKPILOT_NAMESPACE" "$0" >&2
  trap - EXIT
  exit 1
}

build_images() {
  run docker build -f docker/Dockerfile.frontend -t "taskpilot-frontend:$IMAGE_TAG" . ||
    die "building taskpilot-frontend failed." "docker build -f docker/Dockerfile.frontend ."
  run docker build -f docker/Dockerfile.backend -t "taskpilot-backend:$IMAGE_TAG" . ||
    die "building taskpilot-backend failed." "docker build -f docker/Dockerfile.backend ."
}

load_images() {
  local image
  for image in taskpilot-frontend taskpilot-backend; do
    run minikube image load -p "$MINIKUBE_PROFILE" "$image:$IMAGE_TAG" ||
      die "could not load $image:$IMAGE_TAG into minikube." "minikube image ls -p $MINIKUBE_PROFILE; see docs/troubleshooting.md (ErrImageNeverPull)"
  done
}

deploy_chart() {
  local component set_args=()
  for component in frontend backend; do
    set_args+=(--set "$component.image.repository=taskpilot-$component"
      --set "$component.image.tag=$IMAGE_TAG"
      --set "$component.image.pullPolicy=Never")
  done
  hm upgrade --install "$HELM_RELEASE" "$CHART_DIR" --namespace "$TASKPILOT_NAMESPACE" \
    --values "$CHART_DIR/values.yaml" --values "$CHART_DIR/values-dev.yaml" \
    "${set_args[@]}" --timeout 10m ||
    die "helm upgrade --install failed." "helm --kube-context $KUBE_CONTEXT status $HELM_RELEASE -n $TASKPILOT_NAMESPACE; kubectl --context $KUBE_CONTEXT get pods -n $TASKPILOT_NAMESPACE"
}

wait_for_pods() {
  local app workload
  # rollout status first: right after helm returns, new pods may not exist yet (kubectl wait would
  # fail with "no matching resources") and old Ready pods would satisfy it during a re-deploy.
  for workload in "statefulset/$HELM_RELEASE-postgresql" "deployment/$HELM_RELEASE-backend" "deployment/$HELM_RELEASE-frontend"; do
    kc rollout status "$workload" -n "$TASKPILOT_NAMESPACE" --timeout="$WAIT_TIMEOUT" ||
      die "$workload did not finish rolling out within $WAIT_TIMEOUT." "kubectl --context $KUBE_CONTEXT describe $workload -n $TASKPILOT_NAMESPACE; kubectl --context $KUBE_CONTEXT get events -n $TASKPILOT_NAMESPACE"
  done
  for app in taskpilot-postgresql taskpilot-backend taskpilot-frontend; do
    kc wait --for=condition=ready pod -l "app=$app" -n "$TASKPILOT_NAMESPACE" --timeout="$WAIT_TIMEOUT" ||
      die "pods with app=$app did not become Ready within $WAIT_TIMEOUT." "kubectl --context $KUBE_CONTEXT describe pods -l app=$app -n $TASKPILOT_NAMESPACE"
  done
}

step "Checking prerequisites"
if ((USE_TILT)); then check_tools docker minikube kubectl helm python3 tilt; else check_tools docker minikube kubectl helm python3; fi
note_current_context

prepare_cluster
if ((USE_TILT)); then require_no_helm_release; else require_no_tilt_objects; fi

step "Installing the Python helpers into ${VENV_DIR#"$TASKPILOT_ROOT"/}"
install_python_helpers

if ((USE_TILT)); then
  step "Starting Tilt"
  info "Tilt UI: http://localhost:10350  app: http://localhost:3000  API: http://localhost:8000"
  info "Ctrl-C leaves the stack running; './cleanup.sh' removes it."
  trap - EXIT
  printf '%s\n' "  \$ tilt up --context $KUBE_CONTEXT"
  exec tilt up --context "$KUBE_CONTEXT"
fi

step "Building images (tag $IMAGE_TAG)"
build_images

step "Loading images into minikube"
load_images

step "Deploying the chart (release $HELM_RELEASE)"
deploy_chart

step "Waiting for pods to be Ready"
wait_for_pods

if ((PORT_FORWARD)); then
  step "Port-forwarding 3000 and 8000"
  trap - EXIT
  exec "$TASKPILOT_ROOT/port-forward.sh"
fi
printf '\n%s\n' "${C_GREEN}Deployed${C_RESET} in $(elapsed). Reach it with ./port-forward.sh (http://localhost:3000, http://localhost:8000)."
