/**
 * Same-origin relay from this Next.js server to the FastAPI backend.
 *
 * The backend URL is read from the environment on every request (never baked in at build time), bodies
 * are streamed in both directions (Server-Sent Events pass through unbuffered), and cookies travel both
 * ways, including every Set-Cookie header.
 */
import type { BlockList } from "node:net";
import { fromTrustedProxy, setClientAddress, trustedProxiesFromEnv } from "@/lib/clientAddress";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1), ones fetch computes itself, and forwarding headers a client could
 * forge (the backend would believe them: https for its cookie, the address its login limits count).
 */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
  "forwarded",
  "x-real-ip",
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
]);

/** fetch() already decoded the body, so length/encoding from upstream would be wrong downstream. */
const RESPONSE_HEADERS_NOT_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-encoding",
  "content-length",
  "set-cookie", // re-added one by one below: Headers joins them with commas otherwise
]);

const DEFAULT_BACKEND_URL = "http://localhost:8000";

export function backendUrlFromEnv(env: Record<string, string | undefined> = process.env): string {
  const value = env.BACKEND_URL?.trim();
  return (value ? value : DEFAULT_BACKEND_URL).replace(/\/+$/, "");
}

const API_PREFIX = "/api/";

/** True for a decoded path segment that would climb out of /api/ or split into several on the backend. */
function unsafeSegment(decoded: string): boolean {
  return decoded === "" || decoded === "." || decoded === ".." || /[/\\\0]/.test(decoded);
}

/**
 * The backend path for these DECODED /api/ path segments (as Next.js hands them to the route), each
 * encoded again, or null when one is empty, a dot segment or holds a separator. Nothing is decoded
 * here: the path is decoded exactly once on the way (`/api/t%2561sks` stays `t%61sks`, never `tasks`),
 * and `/api/%2e%2e/mcp` can never become `/mcp`.
 */
export function apiPath(segments: readonly string[]): string | null {
  if (segments.length === 0 || segments.some(unsafeSegment)) return null;
  return API_PREFIX + segments.map(encodeURIComponent).join("/");
}

/** Raw (percent-encoded) segments decoded once, or null when one is not valid percent-encoded UTF-8. */
export function decodedSegments(raw: readonly string[]): string[] | null {
  try {
    return raw.map(decodeURIComponent);
  } catch {
    return null;
  }
}

/** Segments after /api/ in a request URL's path as received (not re-normalised), or null outside /api/. */
export function apiSegments(requestUrl: string): string[] | null {
  const afterScheme = requestUrl.indexOf("//");
  const pathStart = requestUrl.indexOf("/", afterScheme < 0 ? 0 : afterScheme + 2);
  if (pathStart < 0) return null;
  const rawPath = requestUrl.slice(pathStart).split(/[?#]/, 1)[0] ?? "";
  return rawPath.startsWith(API_PREFIX) ? rawPath.slice(API_PREFIX.length).split("/") : null;
}

/**
 * The upstream URL, or null when the path is not a plain path under /api/. `segments` are the route's
 * decoded segments; without them the request URL's own path is decoded once.
 */
export function upstreamUrl(requestUrl: string, backendUrl: string, segments?: readonly string[]): string | null {
  const path = apiPath(segments ?? decodedSegments(apiSegments(requestUrl) ?? []) ?? []);
  if (path === null) return null;
  return `${backendUrl.replace(/\/+$/, "")}${path}${new URL(requestUrl).search}`;
}

function firstValue(header: string | null): string | undefined {
  return header?.split(",")[0]?.trim() || undefined;
}

/**
 * Scheme and host the browser used, for the backend's cookie `Secure` flag and its CSRF origin check.
 * X-Forwarded-Proto/-Host are believed only from a trusted proxy (the socket peer is in TRUSTED_PROXIES,
 * like X-Forwarded-For); a client's are ignored (Next.js itself builds request.url's scheme from
 * X-Forwarded-Proto, so that is not used either): this server speaks plain http, and the host is the
 * Host header the browser sent (request.url may name another spelling of this server, like localhost).
 */
export function forwardedOrigin(request: Request, fromTrustedProxy: boolean): { proto: string; host: string } {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  if (!fromTrustedProxy) return { proto: "http", host };
  const proto = firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase();
  return {
    proto: proto === "https" || proto === "http" ? proto : "http",
    host: firstValue(request.headers.get("x-forwarded-host")) ?? host,
  };
}

function forwardedRequestHeaders(request: Request, trustedProxies: BlockList): Headers {
  const headers = new Headers();
  request.headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (!REQUEST_HEADERS_NOT_FORWARDED.has(lower) && !lower.startsWith("x-forwarded-")) headers.set(name, value);
  });
  const { proto, host } = forwardedOrigin(request, fromTrustedProxy(request.headers, trustedProxies));
  headers.set("x-forwarded-host", host);
  headers.set("x-forwarded-proto", proto);
  setClientAddress(headers, request.headers, trustedProxies);
  return headers;
}

function downstreamHeaders(upstream: Response): Headers {
  const headers = new Headers();
  upstream.headers.forEach((value, name) => {
    if (!RESPONSE_HEADERS_NOT_FORWARDED.has(name.toLowerCase())) headers.set(name, value);
  });
  for (const cookie of upstream.headers.getSetCookie()) headers.append("set-cookie", cookie);
  if (upstream.headers.get("content-type")?.startsWith("text/event-stream")) {
    // no-transform keeps any compressing hop from holding events back.
    headers.set("cache-control", "no-cache, no-transform");
    headers.set("x-accel-buffering", "no");
  }
  return headers;
}

/** 502 for the browser: what happened, never why (addresses and error text stay in the server log). */
export function backendUnavailable(): Response {
  return Response.json(
    { detail: "Backend unavailable. Please try again shortly." },
    { status: 502, headers: { "cache-control": "no-store" } },
  );
}

function invalidPath(): Response {
  return Response.json({ detail: "Invalid API path" }, { status: 400, headers: { "cache-control": "no-store" } });
}

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD"]);

export async function proxyRequest(
  request: Request,
  backendUrl: string,
  fetchImpl: typeof fetch = fetch,
  segments?: readonly string[],
  trustedProxies: BlockList = trustedProxiesFromEnv(),
): Promise<Response> {
  const target = upstreamUrl(request.url, backendUrl, segments);
  if (target === null) return invalidPath();
  const hasBody = !METHODS_WITHOUT_BODY.has(request.method.toUpperCase()) && request.body !== null;
  const init: RequestInit & { duplex?: "half" } = {
    method: request.method,
    headers: forwardedRequestHeaders(request, trustedProxies),
    body: hasBody ? request.body : undefined,
    redirect: "manual",
    signal: request.signal, // the browser going away (closed EventSource) closes the upstream stream too
    cache: "no-store",
  };
  if (hasBody) init.duplex = "half"; // required by Node's fetch to stream a request body

  let upstream: Response;
  try {
    upstream = await fetchImpl(target, init);
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    console.error(`api proxy: backend unavailable: ${message}`);
    return backendUnavailable();
  }
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: downstreamHeaders(upstream),
  });
}
