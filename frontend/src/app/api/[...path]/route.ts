import { errorMessage } from "@/lib/errorMessage";
import { backendUnavailable, backendUrlFromEnv, proxyRequest } from "@/lib/proxy";

// Every request is relayed live: never cached, never prerendered, BACKEND_URL read per request.
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

// The path comes from the route's own segments (decoded once, by Next), checked and re-encoded: never
// re-parsed from the URL. Whatever goes wrong here is the relay's answer, never a bare 500.
async function relay(request: Request, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  try {
    const { path } = await context.params;
    return await proxyRequest(request, backendUrlFromEnv(), fetch, path);
  } catch (error) {
    console.error(`api proxy: ${errorMessage(error)}`);
    return backendUnavailable();
  }
}

export const GET = relay;
export const HEAD = relay;
export const POST = relay;
export const PUT = relay;
export const PATCH = relay;
export const DELETE = relay;
export const OPTIONS = relay;
