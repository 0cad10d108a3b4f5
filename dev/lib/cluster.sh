# shellcheck shell=bash
# Cluster steps shared by setup.sh and setup-minikube.sh (source dev/lib/common.sh first).

MINIKUBE_CPUS="${MINIKUBE_CPUS:-4}"
MINIKUBE_MEMORY="${MINIKUBE_MEMORY:-8192}"
MINIKUBE_DRIVER="${MINIKUBE_DRIVER:-docker}"
MINIKUBE_K8S_VERSION="${MINIKUBE_K8S_VERSION:-}"

# Start minikube, or reuse it when it already runs; refuse politely when the host is too small.
start_or_reuse_minikube() {
  local state cpus mem_mb
  state="$(minikube_state)"
  if [[ "$state" == running ]]; then
    ok "minikube profile '$MINIKUBE_PROFILE' is already running; reusing it"
  else
    read -r cpus mem_mb < <(host_capacity)
    if ((cpus < MINIKUBE_CPUS || mem_mb < MINIKUBE_MEMORY)); then
      error "this machine offers ${cpus} CPUs / ${mem_mb} MB to the '${MINIKUBE_DRIVER}' driver; minikube is asked for ${MINIKUBE_CPUS} CPUs / ${MINIKUBE_MEMORY} MB."
      printf '  Either give Docker more resources (Docker Desktop > Settings > Resources),\n' >&2
      printf '  or ask for less, e.g.: MINIKUBE_CPUS=2 MINIKUBE_MEMORY=4096 %s\n' "$0" >&2
      exit 1
    fi
    if [[ -n "$MINIKUBE_K8S_VERSION" ]]; then
      require_kube_version "$MINIKUBE_K8S_VERSION" "MINIKUBE_K8S_VERSION" "unset it (minikube's default is new enough) or set MINIKUBE_K8S_VERSION=v$CHART_KUBE_VERSION"
    fi
    info "minikube profile '$MINIKUBE_PROFILE' is $state; starting it (${MINIKUBE_CPUS} CPUs, ${MINIKUBE_MEMORY} MB, driver ${MINIKUBE_DRIVER})"
    local args=(start -p "$MINIKUBE_PROFILE" --cpus "$MINIKUBE_CPUS" --memory "$MINIKUBE_MEMORY" --driver "$MINIKUBE_DRIVER")
    [[ -n "$MINIKUBE_K8S_VERSION" ]] && args+=(--kubernetes-version "$MINIKUBE_K8S_VERSION")
    run minikube "${args[@]}" ||
      die "minikube start failed." "minikube logs -p $MINIKUBE_PROFILE | tail -50; or start fresh: ./cleanup.sh --purge"
  fi
  kube_context_exists ||
    die "kube context '$KUBE_CONTEXT' is missing after minikube start." "minikube update-context -p $MINIKUBE_PROFILE"
  local server
  server="$(kubectl --context "$KUBE_CONTEXT" version 2>/dev/null | sed -n 's/^Server Version: *//p' | extract_version || true)"
  if [[ -n "$server" ]]; then
    # a profile created by an older minikube keeps its Kubernetes: recreate it (the data goes with it)
    require_kube_version "$server" "minikube profile '$MINIKUBE_PROFILE'" "minikube delete -p $MINIKUBE_PROFILE && $0   (or keep it and use another: MINIKUBE_PROFILE=taskpilot $0)"
    ok "Kubernetes $server (>= $CHART_KUBE_VERSION)"
  fi
}

enable_ingress() {
  run minikube addons enable ingress -p "$MINIKUBE_PROFILE" ||
    die "could not enable the ingress addon." "minikube addons list -p $MINIKUBE_PROFILE"
  if [[ "$(host_os)" == macos ]]; then
    info "macOS + docker driver: run 'minikube tunnel' in another terminal to reach the ingress on 127.0.0.1"
  fi
}

ensure_namespace() {
  if kubectl --context "$KUBE_CONTEXT" get namespace "$TASKPILOT_NAMESPACE" >/dev/null 2>&1; then
    ok "namespace '$TASKPILOT_NAMESPACE' exists"
  else
    kc create namespace "$TASKPILOT_NAMESPACE"
  fi
}

# The cluster part shared by setup.sh and setup-minikube.sh (one numbered step each).
prepare_cluster() {
  step "Starting minikube"
  start_or_reuse_minikube

  step "Enabling the ingress addon"
  enable_ingress

  step "Creating namespace '$TASKPILOT_NAMESPACE'"
  ensure_namespace
}
