import type { NextConfig } from "next";

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
};

export default nextConfig;
