import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, errorMessageFrom } from "@/lib/api";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("ApiClient", () => {
  it("sends JSON same-origin and parses the reply", async () => {
    const fetchImpl = vi.fn(async () => jsonResponse(201, { id: 1, title: "Buy milk" }));
    const client = new ApiClient({ fetchImpl: fetchImpl as unknown as typeof fetch });

    const task = await client.createTask("Buy milk", "2 litres");

    expect(task).toEqual({ id: 1, title: "Buy milk" });
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/tasks");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect((init.headers as Record<string, string>)["content-type"]).toBe("application/json");
    expect(JSON.parse(String(init.body))).toEqual({ title: "Buy milk", description: "2 litres" });
  });

  it("maps filters to the completed query parameter", async () => {
    const urls: string[] = [];
    const fetchImpl = (async (url: string) => {
      urls.push(url);
      return jsonResponse(200, []);
    }) as unknown as typeof fetch;
    const client = new ApiClient({ fetchImpl });
    await client.listTasks("all");
    await client.listTasks("open");
    await client.listTasks("done");
    expect(urls).toEqual(["/api/tasks?limit=100", "/api/tasks?limit=100&completed=false", "/api/tasks?limit=100&completed=true"]);
  });

  it("logs out with a JSON body (cookie-authenticated writes must send JSON)", async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 204 }));
    await new ApiClient({ fetchImpl: fetchImpl as unknown as typeof fetch }).logout();
    const [, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>)["content-type"]).toBe("application/json");
    expect(init.body).toBe("{}");
  });

  it("deletes the account with DELETE /api/auth/me and the password as JSON", async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 204 }));
    await new ApiClient({ fetchImpl: fetchImpl as unknown as typeof fetch }).deleteAccount("s3cret-pass");
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/auth/me");
    expect(init.method).toBe("DELETE");
    expect((init.headers as Record<string, string>)["content-type"]).toBe("application/json");
    expect(JSON.parse(String(init.body))).toEqual({ password: "s3cret-pass" }); // pragma: allowlist secret
  });

  it("returns undefined for 204 responses", async () => {
    const client = new ApiClient({ fetchImpl: (async () => new Response(null, { status: 204 })) as unknown as typeof fetch });
    await expect(client.deleteTask(3)).resolves.toBeUndefined();
  });

  it("raises ApiError with the backend's detail message", async () => {
    const client = new ApiClient({
      fetchImpl: (async () => jsonResponse(409, { detail: "Email already registered" })) as unknown as typeof fetch,
    });
    const error = await client.signup("a@example.com", "password1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).message).toBe("Email already registered");
    expect((error as ApiError).unauthorized).toBe(false);
  });

  it("flags 401 as unauthorized and 502 as service unavailable", async () => {
    const statuses = [401, 502];
    const client = new ApiClient({
      fetchImpl: (async () => jsonResponse(statuses.shift()!, { detail: "x" })) as unknown as typeof fetch,
    });
    const unauthorized = (await client.me().catch((e: unknown) => e)) as ApiError;
    const unavailable = (await client.me().catch((e: unknown) => e)) as ApiError;
    expect(unauthorized.unauthorized).toBe(true);
    expect(unauthorized.serviceUnavailable).toBe(false);
    expect(unavailable.serviceUnavailable).toBe(true);
  });

  it("turns a network failure into a readable status-0 error", async () => {
    const client = new ApiClient({
      fetchImpl: (async () => {
        throw new TypeError("fetch failed");
      }) as unknown as typeof fetch,
    });
    const error = (await client.me().catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.serviceUnavailable).toBe(true);
    expect(error.message).toMatch(/cannot reach/i);
  });

  it("sends chat messages with the conversation id only when known", async () => {
    const bodies: unknown[] = [];
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(String(init.body)));
      return jsonResponse(200, { conversation_id: 7, reply: "ok", actions: [] });
    }) as unknown as typeof fetch;
    const client = new ApiClient({ fetchImpl });
    await client.chat("add milk");
    await client.chat("list", 7);
    expect(bodies).toEqual([{ message: "add milk" }, { message: "list", conversation_id: 7 }]);
  });
});

describe("errorMessageFrom", () => {
  it("uses the error body's detail sentence (422 included)", () => {
    const body = {
      detail: "title: String should have at least 1 character",
      errors: [{ loc: ["body", "title"], msg: "String should have at least 1 character", type: "string_too_short" }],
    };
    expect(errorMessageFrom(422, body)).toBe("title: String should have at least 1 character");
  });

  it("falls back to a generic message", () => {
    expect(errorMessageFrom(502, undefined)).toMatch(/unavailable/);
    expect(errorMessageFrom(418, "teapot")).toBe("Request failed (HTTP 418).");
  });
});
