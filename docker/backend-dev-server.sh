#!/bin/sh
# Start command of the backend's `dev` image: uvicorn --reload over the live-synced /app.
# With DEBUGPY_PORT set (the chart's debug.enabled) the same server runs under debugpy, which
# follows uvicorn's reload workers, so breakpoints keep working across live updates.
# DEBUGPY_WAIT_FOR_CLIENT=1 holds the start until a debugger attaches.
set -eu
# --no-proxy-headers: the app believes forwarding headers only from TRUSTED_PROXIES (app/main.py).
set -- uvicorn main:app --host 0.0.0.0 --port 8000 --no-proxy-headers --reload --reload-dir /app
if [ -z "${DEBUGPY_PORT:-}" ]; then
  exec "$@"
fi
if [ "${DEBUGPY_WAIT_FOR_CLIENT:-0}" = 1 ]; then
  echo "debugpy: waiting for a debugger on port $DEBUGPY_PORT before starting the server"
  exec python -m debugpy --listen "0.0.0.0:$DEBUGPY_PORT" --wait-for-client -m "$@"
fi
exec python -m debugpy --listen "0.0.0.0:$DEBUGPY_PORT" -m "$@"
