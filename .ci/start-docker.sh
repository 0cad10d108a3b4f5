#!/usr/bin/env bash
# Start a Docker engine if none answers, then wait until `docker info` works.
# Idempotent: does nothing when an engine is already up (laptop, CI re-run).
# Env: DOCKERD_LOG (default /tmp/dockerd.log), DOCKER_WAIT_SECONDS (default 60).
set -euo pipefail

log_file=${DOCKERD_LOG:-/tmp/dockerd.log}
wait_seconds=${DOCKER_WAIT_SECONDS:-60}

if docker info >/dev/null 2>&1; then
  echo "docker engine already running"
  exit 0
fi

command -v dockerd >/dev/null || { echo "E: dockerd not installed (apt-get install -y docker.io)" >&2; exit 1; }

# A stale pid file from a killed engine would make dockerd refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null; then
  echo "starting dockerd (log: $log_file)"
  nohup dockerd >"$log_file" 2>&1 &
fi

for _ in $(seq "$wait_seconds"); do
  if docker info >/dev/null 2>&1; then
    echo "docker engine ready"
    exit 0
  fi
  sleep 1
done
echo "E: docker engine did not answer within ${wait_seconds}s; see $log_file" >&2
tail -n 20 "$log_file" >&2 || true
exit 1
