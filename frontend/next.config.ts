import type { NextConfig } from "next";

/** Where the optional ChatKit web component comes from (see src/components/AssistantPanel.tsx). */
const CHATKIT_ORIGIN = "https://cdn.platform.openai.com";

/**
 * Only what the app loads: its own scripts, styles and API, plus the ChatKit component. Next.js inlines
 * its bootstrap scripts and (inlineCss) the stylesheet, hence 'unsafe-inline'; `next dev` also evals.
 */
export function contentSecurityPolicy(development = process.env.NODE_ENV === "development"): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ""} ${CHATKIT_ORIGIN}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${development ? " ws:" : ""}`,
    `frame-src ${CHATKIT_ORIGIN}`,
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join("; ");
}

export const SECURITY_HEADERS = [
  { key: "Content-Security-Policy", value: contentSecurityPolicy() },
  { key: "X-Frame-Options", value: "DENY" }, // frame-ancestors for browsers that predate CSP 2
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
];

const nextConfig: NextConfig = {
  // One image for every environment: a self-contained server.js, configured only at run time.
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // Node's gzip would hold back Server-Sent Events relayed by the /api proxy; ingress/CDN compress instead.
  compress: false,
  // Our stylesheet is a few KB: inlining it removes a render-blocking request from the first paint (LCP).
  experimental: { inlineCss: true },
  // `next dev` only: the hot-reload websocket (/_next/hmr) and dev assets answer pages served from
  // these hosts. The dev stack has two doors, the 3000 forward (localhost or 127.0.0.1) and the
  // ingress (http://localhost/); Next allows only localhost by itself.
  allowedDevOrigins: ["localhost", "127.0.0.1"],
  // Every response: pages, static assets and the /api relay.
  async headers() {
    return [{ source: "/:path*", headers: SECURITY_HEADERS }];
  },
};

export default nextConfig;
