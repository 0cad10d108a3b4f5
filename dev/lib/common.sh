# shellcheck shell=bash disable=SC2034  # variables here are read by the scripts that source this file
# Shared helpers for setup.sh, setup-minikube.sh, port-forward.sh and cleanup.sh.
# Sourced, never executed: logging, numbered steps with elapsed time, an ERR trap that
# names the failing command, version checks with per-OS install hints, and the
# minikube-only kube context guard.

TASKPILOT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MINIKUBE_PROFILE="${MINIKUBE_PROFILE:-minikube}"
# minikube names the kube context after its profile; every kubectl/helm/tilt call pins it.
KUBE_CONTEXT="${KUBE_CONTEXT:-$MINIKUBE_PROFILE}"
TASKPILOT_NAMESPACE="${TASKPILOT_NAMESPACE:-taskpilot}"
HELM_RELEASE="${HELM_RELEASE:-taskpilot-ai}"
SCRIPT_STARTED_AT="$(date +%s)"
STEP_NUMBER=0
STEP_TOTAL="${STEP_TOTAL:-0}"

# Colours only when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  C_BOLD=$'\033[1m' C_RED=$'\033[31m' C_GREEN=$'\033[32m' C_YELLOW=$'\033[33m' C_BLUE=$'\033[34m' C_RESET=$'\033[0m'
else
  C_BOLD='' C_RED='' C_GREEN='' C_YELLOW='' C_BLUE='' C_RESET=''
fi

elapsed() { echo "$(($(date +%s) - SCRIPT_STARTED_AT))s"; }
info() { printf '%s\n' "${C_BLUE}==>${C_RESET} $*"; }
ok() { printf '%s\n' "${C_GREEN}ok${C_RESET}  $*"; }
warn() { printf '%s\n' "${C_YELLOW}warning:${C_RESET} $*" >&2; }
error() { printf '%s\n' "${C_RED}error:${C_RESET} $*" >&2; }
die() {
  error "$1"
  [[ -n "${2:-}" ]] && printf '%s\n' "  try: $2" >&2
  exit 1
}

# step "Starting minikube" -> "[2/6] Starting minikube (+4s)"
step() {
  STEP_NUMBER=$((STEP_NUMBER + 1))
  CURRENT_STEP="$*"
  printf '\n%s\n' "${C_BOLD}[${STEP_NUMBER}/${STEP_TOTAL}] $* ${C_RESET}(+$(elapsed))"
}

# run CMD... : echo the command, run it; the ERR trap reports a failure.
run() {
  printf '%s\n' "  \$ $*"
  "$@"
}

# Installed by each script: on an unexpected failure say which step and command failed.
on_error() {
  local status=$1 line=$2 command=$3
  trap - ERR
  error "step '${CURRENT_STEP:-startup}' failed (exit ${status}) at line ${line}: ${command}"
  printf '%s\n' "  try: re-run with TRACE=1 for a command trace; see docs/troubleshooting.md" >&2
  exit "$status"
}
install_error_trap() {
  set -o errtrace
  trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
  [[ -n "${TRACE:-}" ]] && set -x
  return 0
}

host_os() {
  case "$(uname -s)" in
    Darwin) echo macos ;;
    *) echo linux ;;
  esac
}

# install_hint TOOL -> two lines, "Linux: ..." and "macOS: ..."
install_hint() {
  local linux macos
  case "$1" in
    docker)
      linux="https://docs.docker.com/engine/install/ (then: sudo usermod -aG docker \$USER and log in again)"
      macos="brew install --cask docker (Docker Desktop), then start it" ;;
    minikube)
      linux="curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube"
      macos="brew install minikube" ;;
    kubectl)
      linux="curl -LO \"https://dl.k8s.io/release/\$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl\" && sudo install kubectl /usr/local/bin/kubectl"
      macos="brew install kubectl" ;;
    helm)
      linux="curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash"
      macos="brew install helm" ;;
    tilt)
      linux="curl -fsSL https://raw.githubusercontent.com/tilt-dev/tilt/master/scripts/install.sh | bash"
      macos="brew install tilt" ;;
    python3)
      linux="sudo apt-get install python3 python3-venv (Debian/Ubuntu)"
      macos="brew install python@3.11" ;;
    *) linux="see the tool's documentation" macos="see the tool's documentation" ;;
  esac
  printf 'Linux: %s\nmacOS: %s\n' "$linux" "$macos"
}

# print_install_hint VERB TOOL : indented hint block on stderr.
print_install_hint() {
  printf '  %s %s:\n' "$1" "$2" >&2
  install_hint "$2" | sed 's/^/    /' >&2
}

# version_ge HAVE WANT -> true when HAVE >= WANT (dotted numbers).
version_ge() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

# First dotted version number found in a command's output (v1.2.3 -> 1.2.3).
extract_version() { grep -Eo '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1; }

tool_version() {
  case "$1" in
    docker) docker version --format '{{.Client.Version}}' 2>/dev/null ;;
    minikube) minikube version --short 2>/dev/null ;;
    kubectl) kubectl version --client 2>/dev/null ;;
    helm) helm version --short 2>/dev/null ;;
    tilt) tilt version 2>/dev/null ;;
    python3) python3 --version 2>&1 ;;
  esac | extract_version
}

# The chart needs Kubernetes >= 1.30 (helm/taskpilot-ai/Chart.yaml kubeVersion: the preStop `sleep`
# action); the cluster tool floors follow from it, so a too-old tool stops here instead of at render
# or install time. tests/scripts checks CHART_KUBE_VERSION against Chart.yaml.
CHART_KUBE_VERSION=1.30.0
MIN_VERSION_docker=20.10.0
# 1.33.0 is the first minikube whose default Kubernetes is >= 1.30 (v1.30.0); older ones start a
# cluster the chart refuses.
MIN_VERSION_minikube=1.33.0
# kubectl supports API servers one minor version either side of its own.
MIN_VERSION_kubectl=1.29.0
# Without a cluster (`helm template`, as Tilt renders; `helm lint`) Helm assumes the Kubernetes of the
# client-go it was built with: 3.15.0 (client-go 0.30) is the first that assumes >= 1.30; 3.14 assumes
# 1.29 and stops with "chart requires kubeVersion: >=1.30.0-0".
MIN_VERSION_helm=3.15.0
MIN_VERSION_tilt=0.33.10
MIN_VERSION_python3=3.11.0

# require_kube_version VERSION WHAT : stop when a Kubernetes version is below the chart's floor.
require_kube_version() {
  local have="${1#v}"
  if ! version_ge "$have" "$CHART_KUBE_VERSION"; then
    die "$2 is Kubernetes $have; the chart needs >= $CHART_KUBE_VERSION (helm/taskpilot-ai/Chart.yaml kubeVersion)." "$3"
  fi
}

# check_tools TOOL... : every problem is listed before giving up, each with its install hint.
check_tools() {
  local tool version minimum problems=0
  for tool in "$@"; do
    minimum="MIN_VERSION_${tool}"
    minimum="${!minimum}"
    if ! command -v "$tool" >/dev/null 2>&1; then
      error "$tool is not installed (need >= $minimum)."
      print_install_hint install "$tool"
      problems=$((problems + 1))
      continue
    fi
    version="$(tool_version "$tool" || true)"
    if [[ -z "$version" ]]; then
      warn "could not read the version of $tool; continuing"
    elif ! version_ge "$version" "$minimum"; then
      error "$tool $version is too old (need >= $minimum)."
      print_install_hint upgrade "$tool"
      problems=$((problems + 1))
      continue
    fi
    ok "$tool ${version:-?} (>= $minimum)"
  done
  if [[ " $* " == *" docker "* ]] && command -v docker >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    error "docker is installed but the Docker daemon is not reachable."
    printf '  start it: Linux: sudo systemctl start docker | macOS: open -a Docker\n' >&2
    problems=$((problems + 1))
  fi
  ((problems == 0)) || die "$problems prerequisite problem(s) above; install or upgrade, then re-run." "$0 --help"
}

# --- minikube / cluster state -------------------------------------------------

# minikube_state -> running | stopped | absent
minikube_state() {
  local status_json
  status_json="$(minikube status -p "$MINIKUBE_PROFILE" -o json 2>/dev/null || true)"
  if [[ -z "$status_json" || "$status_json" == *"not found"* ]]; then
    echo absent
  elif grep -Eq '"APIServer": *"Running"' <<<"$status_json"; then
    echo running
  else
    echo stopped
  fi
}

# The kube context must exist and belong to minikube before anything touches the cluster.
kube_context_exists() {
  kubectl config get-contexts -o name 2>/dev/null | grep -qx "$KUBE_CONTEXT"
}

# Pinned-context wrappers: nothing here ever acts on the user's current context.
kc() { run kubectl --context "$KUBE_CONTEXT" "$@"; }
hm() { run helm --kube-context "$KUBE_CONTEXT" "$@"; }

note_current_context() {
  local current
  current="$(kubectl config current-context 2>/dev/null || true)"
  if [[ -n "$current" && "$current" != "$KUBE_CONTEXT" ]]; then
    warn "your current kube context is '$current'; these scripts only act on context '$KUBE_CONTEXT' (passed explicitly), '$current' is left untouched."
  fi
}

# host_capacity -> "CPUS MEMORY_MB"; with the docker driver the limit is what Docker can give.
host_capacity() {
  local cpus mem_mb mem_bytes
  if [[ "${MINIKUBE_DRIVER:-docker}" == docker ]]; then
    read -r cpus mem_bytes < <(docker info --format '{{.NCPU}} {{.MemTotal}}' 2>/dev/null || echo "0 0")
    mem_mb=$((mem_bytes / 1024 / 1024))
  elif [[ "$(host_os)" == macos ]]; then
    cpus="$(sysctl -n hw.ncpu)"
    mem_mb=$(($(sysctl -n hw.memsize) / 1024 / 1024))
  else
    cpus="$(nproc)"
    mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
  fi
  echo "$cpus $mem_mb"
}
