// @vitest-environment node
import { describe, expect, it } from "vitest";
import nextConfig, { contentSecurityPolicy, SECURITY_HEADERS } from "../next.config";

describe("security headers", () => {
  it("apply to every path", async () => {
    const rules = await nextConfig.headers!();
    expect(rules).toEqual([{ source: "/:path*", headers: SECURITY_HEADERS }]);
    const names = SECURITY_HEADERS.map((header) => header.key);
    expect(names).toEqual(["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]);
    expect(SECURITY_HEADERS.find((h) => h.key === "X-Content-Type-Options")!.value).toBe("nosniff");
  });

  it("allow only the app's own origin plus the ChatKit component, and no framing", () => {
    const policy = contentSecurityPolicy(false);
    const directives = Object.fromEntries(policy.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    expect(directives["default-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["object-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).not.toContain("'unsafe-eval'");
    expect(policy).not.toContain("*");
    expect(contentSecurityPolicy(true)).toContain("'unsafe-eval'"); // next dev only
  });
});
