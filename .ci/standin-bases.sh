#!/usr/bin/env bash
# Make the three base images (python:3.13-slim, node:20-alpine, postgres:15-alpine) available.
# - Already present locally: nothing to do.
# - A registry answers (developer laptop): nothing to do; `docker build`/`docker run` pull real bases.
# - No registry (CI sandbox): build local stand-ins with ../shared/ci/standin-images.sh.
# Env: STANDIN_SCRIPT (path to the stand-in builder), REGISTRY_URL (probe target).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
standin_script=${STANDIN_SCRIPT:-$repo_root/../shared/ci/standin-images.sh}
registry_url=${REGISTRY_URL:-https://registry-1.docker.io/v2/}
bases=(python:3.13-slim node:20-alpine postgres:15-alpine)

missing=()
for image in "${bases[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "base images present: ${bases[*]}"
  exit 0
fi

# Any HTTP answer (401 for anonymous /v2/) means the registry is reachable.
http_code=$(curl -sS -m 8 -o /dev/null -w '%{http_code}' "$registry_url" 2>/dev/null || true)
if [ -n "$http_code" ] && [ "$http_code" != 000 ]; then
  echo "registry reachable (HTTP $http_code): real bases will be pulled by docker build (${missing[*]})"
  exit 0
fi

if [ ! -f "$standin_script" ]; then
  echo "E: no registry reachable and stand-in builder not found at $standin_script" >&2
  exit 1
fi
echo "no registry reachable; building local stand-ins for: ${missing[*]}"
exec bash "$standin_script"   # shared/ may be laid out without exec bits
