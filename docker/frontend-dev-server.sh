#!/bin/sh
# Start command of the frontend's `dev` image: `next dev` over the live-synced /app.
# With NODE_INSPECTOR_PORT set (the chart's debug.enabled) the server that runs the app code
# listens for a Node inspector there. `next dev --inspect` puts it on that process; NODE_OPTIONS
# would put it on the CLI wrapper and move the app's inspector to the next port.
set -eu
# The preload records each request's socket peer for the /api proxy (src/lib/clientAddress.ts); through
# NODE_OPTIONS it reaches the child process that serves the app.
NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--import $PWD/server/peer-address.mjs"
export NODE_OPTIONS
set -- node node_modules/next/dist/bin/next dev --hostname 0.0.0.0 --port 3000
if [ -n "${NODE_INSPECTOR_PORT:-}" ]; then
  set -- "$@" --inspect "0.0.0.0:$NODE_INSPECTOR_PORT"
fi
exec "$@"
