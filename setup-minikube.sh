#!/usr/bin/env bash
# Start (or reuse) the minikube cluster TaskPilot AI runs on: no images, no chart.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./setup-minikube.sh [--help]

Prepares the local Kubernetes cluster only:
  1. checks docker (daemon running), minikube and kubectl, with minimum versions
  2. starts minikube (or reuses a running one) with 4 CPUs, 8192 MB, driver docker
  3. enables the ingress addon
  4. creates the namespace 'taskpilot'

Options:
  -h, --help    show this help and exit

Environment:
  MINIKUBE_PROFILE      minikube profile and kube context to use (default: minikube)
  MINIKUBE_CPUS         CPUs for minikube start (default: 4)
  MINIKUBE_MEMORY       memory in MB for minikube start (default: 8192)
  MINIKUBE_DRIVER       minikube driver (default: docker)
  MINIKUBE_K8S_VERSION  Kubernetes version for minikube start (default: minikube's)
  TASKPILOT_NAMESPACE   namespace to create (default: taskpilot)
  NO_COLOR              disable colours (they are off anyway when not on a terminal)
  TRACE                 set to 1 to print every command (bash -x)

Only the kube context named after the minikube profile is ever used.
USAGE
}

while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    *) printf 'error: unknown option: %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done

# shellcheck source=dev/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/lib/common.sh"
# shellcheck source=dev/lib/cluster.sh
source "$TASKPILOT_ROOT/dev/lib/cluster.sh"
install_error_trap
STEP_TOTAL=4

step "Checking prerequisites"
check_tools docker minikube kubectl
note_current_context

prepare_cluster

printf '\n%s\n' "${C_GREEN}Cluster ready${C_RESET} in $(elapsed): context '$KUBE_CONTEXT', namespace '$TASKPILOT_NAMESPACE'."
echo "Next: ./setup.sh (Tilt) or ./setup.sh --no-tilt (plain helm install)."
