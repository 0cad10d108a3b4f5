#!/usr/bin/env bash
# Remove TaskPilot AI from the local minikube cluster. Idempotent: a second run exits 0 and
# says there was nothing to remove. Only ever acts on the minikube kube context.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./cleanup.sh [--stop | --purge [--yes]] [--help]

Default: uninstalls the Helm release 'taskpilot-ai' and deletes the namespace 'taskpilot'
(with its PersistentVolumeClaims, i.e. the database) from the minikube cluster.

Options:
  --stop      afterwards also stop minikube ('minikube stop'; the cluster can be started again)
  --purge     delete the whole minikube cluster and its volumes ('minikube delete'); asks first
  -y, --yes   do not ask for confirmation (needed for --purge when stdin is not a terminal)
  -h, --help  show this help and exit

Environment:
  MINIKUBE_PROFILE     minikube profile = kube context (default: minikube)
  TASKPILOT_NAMESPACE  namespace to delete (default: taskpilot)
  HELM_RELEASE         release to uninstall (default: taskpilot-ai)
  NO_COLOR, TRACE      no colours / print every command

Safe to run repeatedly. Every kubectl and helm call passes --context/--kube-context of the
minikube profile: a different current context (e.g. a production cluster) is never touched.
USAGE
}

STOP=0
PURGE=0
ASSUME_YES=0
while (($#)); do
  case "$1" in
    --stop) STOP=1 ;;
    --purge) PURGE=1 ;;
    -y | --yes) ASSUME_YES=1 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'error: unknown option: %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ((STOP && PURGE)); then
  printf 'error: choose one of --stop and --purge (--purge already removes the cluster)\n' >&2
  exit 2
fi

# shellcheck source=dev/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/lib/common.sh"
install_error_trap
if ((PURGE)); then STEP_TOTAL=2; elif ((STOP)); then STEP_TOTAL=4; else STEP_TOTAL=3; fi
REMOVED=()

nothing_to_remove_exit() {
  printf '\n%s\n' "Nothing to remove: $1"
  exit 0
}

confirm_purge() {
  ((ASSUME_YES)) && return 0
  [[ -t 0 ]] || die "--purge deletes the minikube cluster '$MINIKUBE_PROFILE' and all its volumes; refusing without confirmation." "$0 --purge --yes"
  local answer
  read -r -p "Delete the minikube cluster '$MINIKUBE_PROFILE' and ALL its data (other projects too)? [y/N] " answer
  [[ "$answer" =~ ^[Yy]([Ee][Ss])?$ ]] || { info "purge cancelled; nothing was changed"; exit 0; }
}

step "Checking the minikube cluster"
command -v minikube >/dev/null 2>&1 || nothing_to_remove_exit "minikube is not installed, so there is no TaskPilot cluster."
state="$(minikube_state)"
info "minikube profile '$MINIKUBE_PROFILE': $state"
if [[ "$state" != absent ]]; then
  command -v kubectl >/dev/null 2>&1 || { error "kubectl is not installed."; print_install_hint install kubectl; exit 1; }
  note_current_context
fi

if ((PURGE)); then
  step "Deleting the minikube cluster '$MINIKUBE_PROFILE'"
  [[ "$state" == absent ]] && nothing_to_remove_exit "minikube profile '$MINIKUBE_PROFILE' does not exist."
  confirm_purge
  run minikube delete -p "$MINIKUBE_PROFILE" || die "minikube delete failed." "minikube delete -p $MINIKUBE_PROFILE --purge"
  printf '\n%s\n' "${C_GREEN}Removed${C_RESET} the minikube cluster '$MINIKUBE_PROFILE' and its volumes in $(elapsed)."
  exit 0
fi

case "$state" in
  absent) nothing_to_remove_exit "minikube profile '$MINIKUBE_PROFILE' does not exist." ;;
  stopped)
    ((STOP)) && nothing_to_remove_exit "minikube '$MINIKUBE_PROFILE' is already stopped."
    warn "minikube is stopped: the release and namespace live inside it and stay until you start it (minikube start) or purge it (./cleanup.sh --purge)."
    nothing_to_remove_exit "nothing can be removed from a stopped cluster."
    ;;
esac
kube_context_exists || die "minikube runs but kube context '$KUBE_CONTEXT' is missing." "minikube update-context -p $MINIKUBE_PROFILE"

step "Uninstalling Helm release '$HELM_RELEASE'"
if ! command -v helm >/dev/null 2>&1; then
  warn "helm is not installed; skipping the release (deleting the namespace removes its resources)"
elif helm --kube-context "$KUBE_CONTEXT" status "$HELM_RELEASE" -n "$TASKPILOT_NAMESPACE" >/dev/null 2>&1; then
  hm uninstall "$HELM_RELEASE" -n "$TASKPILOT_NAMESPACE"
  REMOVED+=("helm release $HELM_RELEASE")
else
  ok "release '$HELM_RELEASE' is not installed"
fi

step "Deleting namespace '$TASKPILOT_NAMESPACE'"
if kubectl --context "$KUBE_CONTEXT" get namespace "$TASKPILOT_NAMESPACE" >/dev/null 2>&1; then
  # Waits for the namespace (pods, PVCs, Tilt-applied objects) to be gone, so a re-run finds nothing.
  kc delete namespace "$TASKPILOT_NAMESPACE" --wait=true --timeout=180s
  REMOVED+=("namespace $TASKPILOT_NAMESPACE")
else
  ok "namespace '$TASKPILOT_NAMESPACE' does not exist"
fi

if ((STOP)); then
  step "Stopping minikube"
  run minikube stop -p "$MINIKUBE_PROFILE"
  REMOVED+=("stopped minikube $MINIKUBE_PROFILE")
fi

((${#REMOVED[@]})) || nothing_to_remove_exit "release '$HELM_RELEASE' and namespace '$TASKPILOT_NAMESPACE' are already gone."
summary="$(printf '%s, ' "${REMOVED[@]}")"
printf '\n%s\n' "${C_GREEN}Done${C_RESET} in $(elapsed): removed ${summary%, }."
