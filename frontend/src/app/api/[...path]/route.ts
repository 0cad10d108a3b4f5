import { backendUrlFromEnv, proxyRequest } from "@/lib/proxy";

// Every request is relayed live: never cached, never prerendered, BACKEND_URL read per request.
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

function relay(request: Request): Promise<Response> {
  return proxyRequest(request, backendUrlFromEnv());
}

export const GET = relay;
export const HEAD = relay;
export const POST = relay;
export const PUT = relay;
export const PATCH = relay;
export const DELETE = relay;
export const OPTIONS = relay;
