/**
 * The address of the client a proxied request came from, passed to the backend as X-Forwarded-For.
 *
 * The socket peer, unless the peer is a trusted proxy (the ingress controller, listed in TRUSTED_PROXIES
 * like the backend's setting): then the hop that proxy recorded, read from the right of X-Forwarded-For
 * past any further trusted proxies. The peer comes from server/peer-address.mjs, preloaded into the
 * server; without it the address is unknown and nothing is sent, so the backend counts this server's
 * own address (never one a client chose).
 */
import { BlockList, isIP } from "node:net";

const PEER_HEADER_ANNOUNCEMENT = Symbol.for("taskpilot.peerAddressHeader");

/** The header server/peer-address.mjs writes the socket peer into, or null when it is not loaded. */
export function recordedPeerHeader(): string | null {
  const name = (globalThis as Record<symbol, unknown>)[PEER_HEADER_ANNOUNCEMENT];
  return typeof name === "string" ? name : null;
}

function plainAddress(value: string | null | undefined): string | null {
  let address = value?.trim() ?? "";
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  if (address.toLowerCase().startsWith("::ffff:") && isIP(address.slice(7)) === 4) address = address.slice(7);
  return isIP(address) ? address : null;
}

let parsedProxies: { source: string; list: BlockList } | null = null;

/** TRUSTED_PROXIES (comma-separated addresses or CIDR networks) as a BlockList; bad entries are skipped. */
export function trustedProxiesFromEnv(env: Record<string, string | undefined> = process.env): BlockList {
  const source = env.TRUSTED_PROXIES?.trim() ?? "";
  if (parsedProxies?.source === source) return parsedProxies.list;
  const list = new BlockList();
  for (const entry of source.split(",").map((part) => part.trim()).filter(Boolean)) {
    const [address, prefix] = entry.split("/", 2);
    const family = isIP(address ?? "");
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    // Never everyone: a /0 network (or "*") would let any client pick its address.
    if (!family || !Number.isInteger(bits) || bits < 1 || bits > (family === 4 ? 32 : 128)) {
      console.error(`TRUSTED_PROXIES: ignoring ${JSON.stringify(entry)} (an address or a network, never everyone)`);
      continue;
    }
    list.addSubnet(address as string, bits, family === 4 ? "ipv4" : "ipv6");
  }
  parsedProxies = { source, list };
  return list;
}

function trusted(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 4 ? "ipv4" : "ipv6");
}

function peerAddress(headers: Headers, peerHeader: string | null): string | null {
  return plainAddress(peerHeader ? headers.get(peerHeader) : null);
}

/**
 * True when the socket peer is a trusted proxy: the one trust decision for every forwarding header it
 * sets (X-Forwarded-For here, X-Forwarded-Proto/-Host in the relay). False when the peer is unknown.
 */
export function fromTrustedProxy(
  headers: Headers,
  trustedProxies: BlockList,
  peerHeader: string | null = recordedPeerHeader(),
): boolean {
  const peer = peerAddress(headers, peerHeader);
  return peer !== null && trusted(trustedProxies, peer);
}

/** The client's address for a request with these headers, or null when the socket peer is unknown. */
export function clientAddress(
  headers: Headers,
  trustedProxies: BlockList,
  peerHeader: string | null = recordedPeerHeader(),
): string | null {
  const peer = peerAddress(headers, peerHeader);
  if (peer === null || !trusted(trustedProxies, peer)) return peer;
  // Each proxy appends the address it saw: walk back from the peer while the hops are trusted proxies.
  const hops = (headers.get("x-forwarded-for") ?? "").split(",");
  let nearest = peer;
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = plainAddress(hops[index]);
    if (hop === null) return nearest; // a trusted proxy recorded nothing usable beyond this point
    if (!trusted(trustedProxies, hop)) return hop;
    nearest = hop;
  }
  return nearest;
}

/** Put the client's address on the upstream request (and never the internal peer header itself). */
export function setClientAddress(
  upstream: Headers,
  incoming: Headers,
  trustedProxies: BlockList = trustedProxiesFromEnv(),
): void {
  const peerHeader = recordedPeerHeader();
  if (peerHeader) upstream.delete(peerHeader);
  const address = clientAddress(incoming, trustedProxies, peerHeader);
  if (address === null) upstream.delete("x-forwarded-for");
  else upstream.set("x-forwarded-for", address);
}
