import { backendUrlFromEnv, proxyRequest } from "@/lib/proxy";

// Every request is relayed live: never cached, never prerendered, BACKEND_URL read per request.
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

// The path comes from the route's own segments, checked and re-encoded: never re-parsed from the URL.
async function relay(request: Request, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const { path } = await context.params;
  return proxyRequest(request, backendUrlFromEnv(), fetch, path);
}

export const GET = relay;
export const HEAD = relay;
export const POST = relay;
export const PUT = relay;
export const PATCH = relay;
export const DELETE = relay;
export const OPTIONS = relay;
