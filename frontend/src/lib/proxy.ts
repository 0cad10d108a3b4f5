/**
 * Same-origin relay from this Next.js server to the FastAPI backend.
 *
 * The backend URL is read from the environment on every request (never baked in at build time), bodies
 * are streamed in both directions (Server-Sent Events pass through unbuffered), and cookies travel both
 * ways, including every Set-Cookie header.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus ones fetch computes itself. */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
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

export function upstreamUrl(requestUrl: string, backendUrl: string): string {
  const incoming = new URL(requestUrl);
  return `${backendUrl.replace(/\/+$/, "")}${incoming.pathname}${incoming.search}`;
}

function forwardedRequestHeaders(request: Request): Headers {
  const headers = new Headers();
  request.headers.forEach((value, name) => {
    if (!REQUEST_HEADERS_NOT_FORWARDED.has(name.toLowerCase())) headers.set(name, value);
  });
  const incoming = new URL(request.url);
  const host = request.headers.get("host") ?? incoming.host;
  if (!headers.has("x-forwarded-host")) headers.set("x-forwarded-host", host);
  // The backend marks its session cookie Secure only when the browser came over https.
  if (!headers.has("x-forwarded-proto")) headers.set("x-forwarded-proto", incoming.protocol.replace(":", ""));
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

export function backendUnavailable(reason: string): Response {
  return Response.json(
    { detail: "The TaskPilot service is unavailable right now. Please try again shortly.", reason },
    { status: 502, headers: { "cache-control": "no-store" } },
  );
}

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD"]);

export async function proxyRequest(
  request: Request,
  backendUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Response> {
  const target = upstreamUrl(request.url, backendUrl);
  const hasBody = !METHODS_WITHOUT_BODY.has(request.method.toUpperCase()) && request.body !== null;
  const init: RequestInit & { duplex?: "half" } = {
    method: request.method,
    headers: forwardedRequestHeaders(request),
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
    return backendUnavailable(message);
  }
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: downstreamHeaders(upstream),
  });
}
