// @vitest-environment node
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInitialSession } from "@/lib/initialSession";

// A stand-in backend on 127.0.0.1 whose answer depends on the session token it is sent.
let server: Server;
let backendUrl: string;
let requestsSeen = 0;
const user = { id: 1, email: "a@example.com", name: null, created_at: "2026-01-01T00:00:00Z" };

beforeAll(async () => {
  server = createServer((req, res) => {
    requestsSeen += 1;
    const token = /taskpilot_session=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (token === "slow") return void setTimeout(() => res.end("{}"), 3000);
    if (token !== "good") {
      res.writeHead(401, { "content-type": "application/json" });
      return void res.end('{"detail":"Not authenticated"}');
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(req.url?.startsWith("/api/auth/me") ? user : [{ id: 5, title: "t" }]));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  backendUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("loadInitialSession", () => {
  it("says anonymous without a cookie, and never calls the backend", async () => {
    const before = requestsSeen;
    expect(await loadInitialSession(backendUrl, undefined)).toEqual({ state: "anonymous" });
    expect(await loadInitialSession(backendUrl, "")).toEqual({ state: "anonymous" });
    expect(requestsSeen).toBe(before);
  });

  it("returns the user and tasks for a valid session", async () => {
    expect(await loadInitialSession(backendUrl, "good")).toEqual({ state: "signed-in", user, tasks: [{ id: 5, title: "t" }] });
  });

  it("says anonymous for a rejected session", async () => {
    expect(await loadInitialSession(backendUrl, "expired")).toEqual({ state: "anonymous" });
  });

  it("gives up quickly when the backend is slow or down", async () => {
    const started = Date.now();
    expect(await loadInitialSession(backendUrl, "slow")).toEqual({ state: "unknown" });
    expect(Date.now() - started).toBeLessThan(3000); // i.e. before the slow backend would have answered
    expect(await loadInitialSession("http://127.0.0.1:1", "good")).toEqual({ state: "unknown" });
  });
});
