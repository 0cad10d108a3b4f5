import { NextResponse, type NextRequest } from "next/server";
import { refusedApiRequest } from "@/lib/proxy";

/**
 * Runs before Next.js routes an /api/ request to the relay (src/app/api/[...path]/route.ts): a path that
 * is not valid percent-encoding would make Next's own decoding of the route's segments throw (a 500),
 * so it is answered 400 here; unsupported methods get 405.
 */
export function proxy(request: NextRequest): Response {
  return refusedApiRequest(request.method, request.url) ?? NextResponse.next();
}

export const config = { matcher: "/api/:path*" };
