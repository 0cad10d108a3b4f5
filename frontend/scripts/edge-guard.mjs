// Loaded first by the standalone server.js (scripts/postbuild.mjs adds the import): answers, before Next.js
// sees them, the requests Next itself would answer with a 500:
//   - TRACE (any path): Next turns every request into a fetch Request, which refuses that method -> 405;
//   - an /api/ path that is not valid percent-encoded UTF-8: Next's decoding of the relay route's
//     segments throws -> 400 in the relay's error shape.
// (CONNECT never reaches a request handler, and Node's parser refuses unknown methods with 400.)
// Plain JavaScript because server.js loads it as is; `next dev` runs without it.
import http from "node:http";

const ALLOWED = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const API_PREFIX = "/api/";

function json(status, detail, headers = {}) {
  return { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers }, body: JSON.stringify({ detail }) };
}

/** The answer for a request Next.js cannot handle, or null to let Next handle it. */
export function refusal(method, url) {
  if (method === "TRACE") return json(405, "Method Not Allowed", { allow: ALLOWED });
  const path = (url ?? "").split(/[?#]/, 1)[0] ?? "";
  if (path.startsWith(API_PREFIX)) {
    try {
      decodeURIComponent(path);
    } catch {
      return json(400, "Malformed percent-encoding in the API path");
    }
  }
  return null;
}

/** Wraps the request listener of every HTTP server created from now on (Next creates one). */
export function installEdgeGuard() {
  const createServer = http.createServer;
  http.createServer = (...args) => {
    const listenerAt = args.findIndex((arg) => typeof arg === "function");
    if (listenerAt >= 0) {
      const listener = args[listenerAt];
      args[listenerAt] = (request, response) => {
        const refused = refusal(request.method, request.url);
        if (refused === null) return listener(request, response);
        response.writeHead(refused.status, { ...refused.headers, "content-length": Buffer.byteLength(refused.body) });
        response.end(refused.body);
      };
    }
    return createServer(...args);
  };
}
