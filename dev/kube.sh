#!/usr/bin/env bash
# A single-node Kubernetes cluster from upstream components, as local processes (root only).
#
#   ./dev/kube.sh up       build the pinned components once (dev/kube/build.sh), start the cluster,
#                          print KUBECONFIG=<path> and context=<name>; a no-op when it runs already
#   ./dev/kube.sh status   what runs (with the log tail of what died), and the same two lines
#   ./dev/kube.sh down     stop everything and remove every process, container, mount, iptables
#                          rule and interface it made; says so when there is nothing to remove
#
# Env: KUBE_CACHE (builds, default ~/.cache/taskpilot/kube), TASKPILOT_KUBE_STATE (runtime state,
# default /var/lib/taskpilot-kube), VENV_DIR (Python helpers, default .venv).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV_DIR=${VENV_DIR:-$ROOT/.venv}

case ${1:-} in
  up | down | status) ;;
  -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: ./dev/kube.sh up|down|status (see --help)" >&2; exit 2 ;;
esac

if [ ! -x "$VENV_DIR/bin/python" ] || ! "$VENV_DIR/bin/python" -c 'import taskpilot_dev' 2>/dev/null; then
  echo "kube: installing the Python helpers into $VENV_DIR" >&2
  python3 -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install -q --disable-pip-version-check -r "$ROOT/dev/requirements.txt" -e "$ROOT/dev/toolkit"
fi
if [ "$1" = up ]; then
  "$ROOT/dev/kube/build.sh" >/dev/null
fi
exec "$VENV_DIR/bin/python" -m taskpilot_dev.localkube "$@"
