// @vitest-environment node
// The guard the postbuild step puts in front of the standalone server.js (scripts/edge-guard.mjs).
import http, { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installEdgeGuard, refusal } from "../scripts/edge-guard.mjs";

describe("refusal", () => {
  it("answers TRACE with 405 on every path", () => {
    for (const url of ["/api/tasks", "/", "/anything"]) {
      const refused = refusal("TRACE", url);
      expect(refused?.status, url).toBe(405);
      expect(refused?.headers.allow).toBe("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      expect(JSON.parse(refused?.body ?? "")).toEqual({ detail: "Method Not Allowed" });
    }
  });

  it("answers an /api/ path that is not valid percent-encoded UTF-8 with 400", () => {
    for (const url of ["/api/%ff", "/api/%", "/api/tasks%ff", "/api/tasks/%e9?x=1", "/api/t%zzasks"]) {
      const refused = refusal("GET", url);
      expect(refused?.status, url).toBe(400);
      expect(JSON.parse(refused?.body ?? "")).toEqual({ detail: "Malformed percent-encoding in the API path" });
    }
  });

  it("lets everything else through to Next.js", () => {
    for (const [method, url] of [["GET", "/api/t%2561sks"], ["POST", "/api/tasks"], ["GET", "/%ff"], ["DELETE", "/api/tasks/1?q=%ff"]]) {
      expect(refusal(method, url), `${method} ${url}`).toBeNull();
    }
  });
});

describe("installEdgeGuard", () => {
  let server: Server;
  let port: number;
  const reached: string[] = [];

  beforeAll(async () => {
    installEdgeGuard();
    // Through the module object, as Next's start-server calls it (a named import would bypass the guard).
    server = http.createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function send(method: string, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method, path }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("answers before the server's own listener runs", async () => {
    expect(await send("TRACE", "/api/tasks")).toBe(405);
    expect(await send("GET", "/api/%ff")).toBe(400);
    expect(reached).toEqual([]);
    expect(await send("GET", "/api/tasks")).toBe(200);
    expect(reached).toEqual(["GET /api/tasks"]);
  });
});
