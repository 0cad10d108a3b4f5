// @vitest-environment node
// The proxy runs on the Node server, so it is tested with Node's own fetch, not the DOM one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustedProxiesFromEnv } from "@/lib/clientAddress";
import { apiPath, backendUrlFromEnv, decodedSegments, proxyRequest, upstreamUrl } from "@/lib/proxy";

// The proxy runs against a real local HTTP server: streaming and header handling are what matter here.
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let backendUrl: string;
const seen: Seen[] = [];

function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
    if (req.url?.startsWith("/api/events")) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write('data: {"type":"ready"}\n\n');
      // The second event comes only after the first was read: proves the relay does not buffer.
      const timer = setTimeout(() => res.end('data: {"type":"deleted","task_id":1}\n\n'), 1500);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (req.url?.startsWith("/api/auth/login")) {
      res.setHeader("set-cookie", ["taskpilot_session=abc; HttpOnly; Path=/; SameSite=Lax", "other=1; Path=/"]);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    if (req.url?.startsWith("/api/tasks/9")) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(201, { "content-type": "application/json", "x-instance-id": "backend-1" });
    res.end(JSON.stringify({ echoed: true }));
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  backendUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("backend URL", () => {
  it("is read from BACKEND_URL with a local default, trailing slash removed", () => {
    expect(backendUrlFromEnv({ BACKEND_URL: "http://backend-service:80/" })).toBe("http://backend-service:80");
    expect(backendUrlFromEnv({})).toBe("http://localhost:8000");
  });

  it("keeps the path and query", () => {
    expect(upstreamUrl("http://front:3000/api/tasks?completed=true", "http://b:8000/")).toBe("http://b:8000/api/tasks?completed=true");
  });

  it("forwards only plain paths under /api/", () => {
    expect(apiPath(["tasks", "12"])).toBe("/api/tasks/12");
    // Route segments arrive decoded (by Next): a dot segment or a separator in one is refused.
    for (const segments of [["..", "mcp"], ["tasks", "/../mcp"], ["a\\..\\mcp"], ["."], ["tasks", ""], [], ["a\0b"]]) {
      expect(apiPath(segments), segments.join("/")).toBeNull();
    }
    expect(upstreamUrl("http://front:3000/mcp", "http://b:8000")).toBeNull();
    // From the raw URL, decoded once: the same refusals.
    for (const path of ["/api/%2e%2e/mcp", "/api/%2E%2e/mcp", "/api/tasks/%2f..%2fmcp", "/api/a%5c..%5cmcp", "/api/%zz", "/api/%ff"]) {
      expect(upstreamUrl(`http://front:3000${path}`, "http://b:8000"), path).toBeNull();
    }
  });

  it("decodes the path exactly once, so an encoded percent sign stays one", () => {
    // `/api/t%2561sks`: Next hands the route "t%61sks"; decoding again would reach /api/tasks.
    expect(apiPath(["t%61sks"])).toBe("/api/t%2561sks");
    expect(upstreamUrl("http://front:3000/api/t%2561sks", "http://b:8000")).toBe("http://b:8000/api/t%2561sks");
    expect(apiPath(["%2e%2e", "mcp"])).toBe("/api/%252e%252e/mcp"); // a literal name, not a dot segment
    expect(decodedSegments(["t%2561sks"])).toEqual(["t%61sks"]);
    expect(decodedSegments(["%ff"])).toBeNull();
  });
});

describe("proxyRequest", () => {
  it("passes method, body, cookies and headers through and returns the backend's response", async () => {
    const request = new Request("http://localhost:3000/api/tasks?x=1", {
      method: "POST",
      headers: {
        cookie: "taskpilot_session=tok",
        "content-type": "application/json",
        "x-request-id": "r1",
        origin: "http://localhost:3000",
        "sec-fetch-site": "same-origin",
      },
      body: JSON.stringify({ title: "Buy milk" }),
    });
    const response = await proxyRequest(request, backendUrl);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-instance-id")).toBe("backend-1");
    expect(await response.json()).toEqual({ echoed: true });
    const last = seen.at(-1)!;
    expect(last.method).toBe("POST");
    expect(last.url).toBe("/api/tasks?x=1");
    expect(last.body).toBe('{"title":"Buy milk"}');
    expect(last.headers.cookie).toBe("taskpilot_session=tok");
    expect(last.headers["x-request-id"]).toBe("r1");
    expect(last.headers["x-forwarded-proto"]).toBe("http");
    expect(last.headers["x-forwarded-host"]).toBe("localhost:3000");
    // The backend's CSRF guard compares these with the forwarded host: they must reach it unchanged.
    expect(last.headers.origin).toBe("http://localhost:3000");
    expect(last.headers["sec-fetch-site"]).toBe("same-origin");
  });

  it("refuses a path that would leave /api/ and never calls the backend", async () => {
    const before = seen.length;
    for (const segments of [["..", "mcp"], ["a/b"], ["."]]) {
      const response = await proxyRequest(new Request("http://localhost:3000/api/x"), backendUrl, fetch, segments);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ detail: "Invalid API path" });
    }
    expect(seen.length).toBe(before);
  });

  it("drops forwarding headers the client sent and sets its own", async () => {
    const request = new Request("http://localhost:3000/api/tasks", {
      headers: { "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https", "x-forwarded-host": "evil.test",
        "x-forwarded-port": "443", forwarded: "for=6.6.6.6;proto=https", "x-real-ip": "6.6.6.6" },
    });
    await proxyRequest(request, backendUrl);
    const last = seen.at(-1)!;
    expect(last.headers["x-forwarded-for"]).toBeUndefined();
    expect(last.headers["x-forwarded-port"]).toBeUndefined();
    expect(last.headers.forwarded).toBeUndefined();
    expect(last.headers["x-real-ip"]).toBeUndefined();
    expect(last.headers["x-forwarded-proto"]).toBe("http");
    expect(last.headers["x-forwarded-host"]).toBe("localhost:3000");
  });

  describe("X-Forwarded-Proto/-Host, believed only when the socket peer is in TRUSTED_PROXIES", () => {
    const PEER = "x-taskpilot-peer-address"; // what server/peer-address.mjs records and announces
    const ingress = trustedProxiesFromEnv({ TRUSTED_PROXIES: "10.0.0.0/8" });
    const forwarded = { host: "frontend-service", "x-forwarded-proto": "https, http", "x-forwarded-host": "app.example" };

    beforeAll(() => {
      (globalThis as Record<symbol, unknown>)[Symbol.for("taskpilot.peerAddressHeader")] = PEER;
    });
    afterAll(() => {
      delete (globalThis as Record<symbol, unknown>)[Symbol.for("taskpilot.peerAddressHeader")];
    });

    it("ignores a client's, even when Next built request.url from them", async () => {
      // Next.js makes request.url https when the client says X-Forwarded-Proto: https.
      const request = new Request("https://localhost:3000/api/tasks", {
        headers: { host: "localhost:3000", "x-forwarded-proto": "https", "x-forwarded-host": "evil.test", [PEER]: "203.0.113.9" },
      });
      await proxyRequest(request, backendUrl, fetch, ["tasks"], ingress);
      const last = seen.at(-1)!;
      expect(last.url).toBe("/api/tasks");
      expect(last.headers["x-forwarded-proto"]).toBe("http");
      expect(last.headers["x-forwarded-host"]).toBe("localhost:3000");
      expect(last.headers["x-forwarded-for"]).toBe("203.0.113.9");
    });

    it("passes a trusted proxy's on, with the client address it recorded", async () => {
      const request = new Request("https://localhost:3000/api/tasks", {
        headers: { ...forwarded, "x-forwarded-for": "198.51.100.7", [PEER]: "10.1.2.3" },
      });
      await proxyRequest(request, backendUrl, fetch, ["tasks"], ingress);
      const last = seen.at(-1)!;
      expect(last.headers["x-forwarded-proto"]).toBe("https");
      expect(last.headers["x-forwarded-host"]).toBe("app.example");
      expect(last.headers["x-forwarded-for"]).toBe("198.51.100.7");
      expect(last.headers[PEER]).toBeUndefined();
    });

    it("ignores them when the peer is unknown (no preload) or nobody is trusted", async () => {
      await proxyRequest(new Request("https://localhost:3000/api/tasks", { headers: forwarded }), backendUrl, fetch, ["tasks"], ingress);
      expect(seen.at(-1)!.headers["x-forwarded-proto"]).toBe("http");
      const nobody = trustedProxiesFromEnv({});
      const fromIngress = new Request("https://localhost:3000/api/tasks", { headers: { ...forwarded, [PEER]: "10.1.2.3" } });
      await proxyRequest(fromIngress, backendUrl, fetch, ["tasks"], nobody);
      expect(seen.at(-1)!.headers["x-forwarded-host"]).toBe("frontend-service");
    });
  });

  it("names the host the browser used (its Host header), which the browser's Origin is built from", async () => {
    // Next builds request.url from its own idea of the server (localhost), not from the Host header.
    const request = new Request("http://localhost:3000/api/tasks", {
      method: "POST",
      headers: { host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000", "content-type": "application/json" },
      body: "{}",
    });
    await proxyRequest(request, backendUrl);
    const last = seen.at(-1)!;
    expect(last.headers["x-forwarded-host"]).toBe("127.0.0.1:3000");
    expect(last.headers.origin).toBe("http://127.0.0.1:3000");
  });

  it("relays every Set-Cookie header separately", async () => {
    const response = await proxyRequest(new Request("http://localhost:3000/api/auth/login", { method: "POST", body: "{}" }), backendUrl);
    expect(response.headers.getSetCookie()).toEqual(["taskpilot_session=abc; HttpOnly; Path=/; SameSite=Lax", "other=1; Path=/"]);
  });

  it("passes 204 through without a body", async () => {
    const response = await proxyRequest(new Request("http://localhost:3000/api/tasks/9", { method: "DELETE" }), backendUrl);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it("streams Server-Sent Events without waiting for the end of the stream", async () => {
    const response = await proxyRequest(new Request("http://localhost:3000/api/events"), backendUrl);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"ready"');
    expect(first).not.toContain('"deleted"'); // a buffering relay would hand both events over at once
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain('"deleted"');
  });

  it("answers a clear 502 JSON error when the backend is down", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there any more
    const response = await proxyRequest(new Request("http://localhost:3000/api/tasks"), `http://127.0.0.1:${deadPort}`);
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toContain("application/json");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ detail: "Backend unavailable. Please try again shortly." });
    expect(text).not.toContain("127.0.0.1"); // no addresses or error text from inside
    expect(text).not.toMatch(/ECONNREFUSED|fetch failed/i);
  });
});
