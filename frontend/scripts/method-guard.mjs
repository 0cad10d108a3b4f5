// Loaded first by the standalone server.js (scripts/postbuild.mjs adds the import): answers TRACE with 405
// before Next.js sees it. Node's HTTP parser accepts TRACE, but Next turns every request into a fetch
// Request, which refuses that method, so Next itself would answer 500. (CONNECT never reaches a request
// handler, and Node's parser refuses unknown methods with 400.)
import http from "node:http";

const ALLOWED = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const REFUSED_METHODS = new Set(["TRACE"]);

/** Answers a request with a method Next.js cannot handle; true when it did. */
export function refuseUnservableMethod(request, response) {
  if (!REFUSED_METHODS.has(request.method)) return false;
  const body = JSON.stringify({ detail: "Method Not Allowed" });
  response.writeHead(405, {
    allow: ALLOWED,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  response.end(body);
  return true;
}

/** Wraps the request listener of every HTTP server created from now on (Next creates one). */
export function installMethodGuard() {
  const createServer = http.createServer;
  http.createServer = (...args) => {
    const listenerAt = args.findIndex((arg) => typeof arg === "function");
    if (listenerAt >= 0) {
      const listener = args[listenerAt];
      args[listenerAt] = (request, response) => {
        if (!refuseUnservableMethod(request, response)) return listener(request, response);
      };
    }
    return createServer(...args);
  };
}
