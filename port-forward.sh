#!/usr/bin/env bash
# Forward the frontend (3000) and backend (8000) services of the minikube deployment to localhost,
# restarting a forward when it drops (pod restarts, rollouts). Ctrl-C stops both.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./port-forward.sh [--frontend-port N] [--backend-port N] [--max-restarts N] [--help]

Runs two 'kubectl port-forward' processes against the minikube context, namespace taskpilot:
  svc/frontend-service 80 -> http://localhost:3000
  svc/backend-service  80 -> http://localhost:8000
A forward that drops (pod restarted, rollout) is restarted after a second. Ctrl-C stops both.

Options:
  --frontend-port N   local port for the frontend (default: 3000)
  --backend-port N    local port for the backend (default: 8000)
  --max-restarts N    give up (exit 1) after a forward dropped N times (default: unlimited)
  -h, --help          show this help and exit

Environment:
  KUBE_CONTEXT         kube context (default: $MINIKUBE_PROFILE, i.e. minikube; ./dev/kube.sh: taskpilot-local)
  MINIKUBE_PROFILE     minikube profile (default: minikube)
  TASKPILOT_NAMESPACE  namespace (default: taskpilot)
  FRONTEND_PORT, BACKEND_PORT, PORT_FORWARD_MAX_RESTARTS
                       defaults for the three options above
  NO_COLOR, TRACE      no colours / print every command
USAGE
}

FRONTEND_PORT="${FRONTEND_PORT:-3000}"
BACKEND_PORT="${BACKEND_PORT:-8000}"
MAX_RESTARTS="${PORT_FORWARD_MAX_RESTARTS:--1}"
need_number() { [[ "${2:-}" =~ ^[0-9]+$ ]] || { printf 'error: %s needs a number\n' "$1" >&2; exit 2; }; }
while (($#)); do
  case "$1" in
    --frontend-port) need_number "$1" "${2:-}"; FRONTEND_PORT=$2; shift ;;
    --backend-port) need_number "$1" "${2:-}"; BACKEND_PORT=$2; shift ;;
    --max-restarts) need_number "$1" "${2:-}"; MAX_RESTARTS=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'error: unknown option: %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=dev/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/lib/common.sh"
install_error_trap
STEP_TOTAL=2

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# forward_forever NAME SERVICE LOCAL_PORT : one supervised kubectl port-forward.
forward_forever() {
  local name=$1 service=$2 port=$3 restarts=0 child=''
  trap '[[ -n "$child" ]] && kill "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    kubectl --context "$KUBE_CONTEXT" -n "$TASKPILOT_NAMESPACE" port-forward --address 127.0.0.1 \
      "svc/$service" "$port:80" &
    child=$!
    wait "$child" || true
    child=''
    restarts=$((restarts + 1))
    if ((MAX_RESTARTS >= 0 && restarts > MAX_RESTARTS)); then
      error "the $name forward (localhost:$port -> svc/$service) dropped $restarts time(s); giving up."
      printf '  try: kubectl --context %s get pods -n %s; see docs/troubleshooting.md (port-forward drops)\n' "$KUBE_CONTEXT" "$TASKPILOT_NAMESPACE" >&2
      exit 1
    fi
    warn "the $name forward dropped (restart $restarts); restarting in 1s"
    sleep 1
  done
}

step "Checking the cluster and local ports"
command -v kubectl >/dev/null 2>&1 || { error "kubectl is not installed."; print_install_hint install kubectl; exit 1; }
kube_context_exists || die "kube context '$KUBE_CONTEXT' not found; the cluster is not set up." "./setup.sh --no-tilt (or ./setup-minikube.sh)"
note_current_context
for port in "$FRONTEND_PORT" "$BACKEND_PORT"; do
  port_in_use "$port" && die "localhost:$port is already in use (is Tilt or another port-forward running?)." "lsof -i :$port, or pick another port with --frontend-port/--backend-port"
done

step "Forwarding (Ctrl-C stops both)"
forward_forever frontend frontend-service "$FRONTEND_PORT" &
frontend_loop=$!
forward_forever backend backend-service "$BACKEND_PORT" &
backend_loop=$!
stop_forwards() {
  trap - INT TERM
  kill "$frontend_loop" "$backend_loop" 2>/dev/null || true
  wait "$frontend_loop" "$backend_loop" 2>/dev/null || true
}
trap 'stop_forwards; echo; ok "port forwards stopped"; exit 0' INT TERM
info "Frontend: http://localhost:$FRONTEND_PORT"
info "Backend:  http://localhost:$BACKEND_PORT"

# Whichever supervisor gives up first ends the script; the other one is stopped with it.
status=0
wait -n "$frontend_loop" "$backend_loop" || status=$?
stop_forwards
exit "$status"
