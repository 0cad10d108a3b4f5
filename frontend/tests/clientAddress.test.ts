// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import { clientAddress, setClientAddress, trustedProxiesFromEnv } from "@/lib/clientAddress";

const PEER = "x-taskpilot-peer-address";
const ingress = trustedProxiesFromEnv({ TRUSTED_PROXIES: "10.0.0.0/8, 192.168.1.7" });

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

describe("client address", () => {
  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[Symbol.for("taskpilot.peerAddressHeader")];
    vi.restoreAllMocks();
  });

  it("is the socket peer, whatever forwarding header the client sent", () => {
    const request = headers({ [PEER]: "203.0.113.9", "x-forwarded-for": "198.51.100.1" });
    expect(clientAddress(request, ingress, PEER)).toBe("203.0.113.9");
  });

  it("is the hop a trusted ingress recorded, past further trusted proxies", () => {
    expect(clientAddress(headers({ [PEER]: "10.1.2.3", "x-forwarded-for": "203.0.113.9" }), ingress, PEER)).toBe("203.0.113.9");
    // a client-written entry on the left is never reached: the ingress appended the real peer
    const chain = headers({ [PEER]: "10.1.2.3", "x-forwarded-for": "1.1.1.1, 203.0.113.9, 192.168.1.7" });
    expect(clientAddress(chain, ingress, PEER)).toBe("203.0.113.9");
  });

  it("falls back to the nearest trusted hop when the recorded one is not an address", () => {
    expect(clientAddress(headers({ [PEER]: "10.1.2.3", "x-forwarded-for": "1.1.1.1, nonsense" }), ingress, PEER)).toBe("10.1.2.3");
    expect(clientAddress(headers({ [PEER]: "10.1.2.3" }), ingress, PEER)).toBe("10.1.2.3");
  });

  it("reads IPv4-mapped IPv6 peers as IPv4", () => {
    expect(clientAddress(headers({ [PEER]: "::ffff:203.0.113.9" }), ingress, PEER)).toBe("203.0.113.9");
  });

  it("is unknown without the preload, even when a client sends the peer header itself", () => {
    expect(clientAddress(headers({ [PEER]: "203.0.113.9" }), ingress, null)).toBeNull();
    const upstream = headers({ "x-forwarded-for": "198.51.100.1" });
    setClientAddress(upstream, headers({ [PEER]: "203.0.113.9" }));
    expect(upstream.get("x-forwarded-for")).toBeNull();
  });

  it("replaces the peer header with X-Forwarded-For on the upstream request", () => {
    (globalThis as Record<symbol, unknown>)[Symbol.for("taskpilot.peerAddressHeader")] = PEER;
    const upstream = headers({ [PEER]: "203.0.113.9" });
    setClientAddress(upstream, headers({ [PEER]: "203.0.113.9", "x-forwarded-for": "198.51.100.1" }));
    expect(upstream.get("x-forwarded-for")).toBe("203.0.113.9");
    expect(upstream.get(PEER)).toBeNull();
  });

  it("never trusts everyone", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const list = trustedProxiesFromEnv({ TRUSTED_PROXIES: "*, 0.0.0.0/0, ::/0, 10.0.0.0/33, 127.0.0.1" });
    expect(list.check("203.0.113.9", "ipv4")).toBe(false);
    expect(list.check("127.0.0.1", "ipv4")).toBe(true);
    expect(errors).toHaveBeenCalledTimes(4);
  });
});
