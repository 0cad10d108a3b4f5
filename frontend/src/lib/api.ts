/** Typed client for the backend API, always called same-origin through the /api proxy. */
import { TASK_LIST_LIMIT, type ApiErrorBody, type ChatReply, type Task, type TaskChanges, type TaskFilter, type User } from "./types";

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  /** The proxy answers 502 (and a gateway 503/504) when the backend cannot be reached. */
  get serviceUnavailable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** The backend's error body (`ApiErrorBody`: `detail` is always one sentence) as the error message. */
export function errorMessageFrom(status: number, body: unknown): string {
  const detail = body && typeof body === "object" ? (body as Partial<ApiErrorBody>).detail : undefined;
  if (typeof detail === "string" && detail) return detail;
  if (status === 502 || status === 503 || status === 504) return "The service is unavailable right now.";
  return `Request failed (HTTP ${status}).`;
}

export interface ApiClientOptions {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "Cannot reach the server. Check your connection.");
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) throw new ApiError(response.status, errorMessageFrom(response.status, parsed));
    return parsed as T;
  }

  signup(email: string, password: string, name?: string): Promise<{ user: User }> {
    return this.request("POST", "/api/auth/signup", { email, password, ...(name ? { name } : {}) });
  }

  login(email: string, password: string): Promise<{ user: User }> {
    return this.request("POST", "/api/auth/login", { email, password });
  }

  me(): Promise<User> {
    return this.request("GET", "/api/auth/me");
  }

  logout(): Promise<void> {
    // A JSON body: the backend refuses cookie-authenticated writes without one (CSRF guard).
    return this.request("POST", "/api/auth/logout", {});
  }

  /** Deletes the account with its tasks and conversations, and ends every session of it. */
  deleteAccount(password: string): Promise<void> {
    return this.request("DELETE", "/api/auth/me", { password });
  }

  listTasks(filter: TaskFilter = "all"): Promise<Task[]> {
    const query = filter === "all" ? "" : `&completed=${filter === "done"}`;
    return this.request("GET", `/api/tasks?limit=${TASK_LIST_LIMIT}${query}`);
  }

  createTask(title: string, description?: string): Promise<Task> {
    return this.request("POST", "/api/tasks", { title, ...(description ? { description } : {}) });
  }

  updateTask(id: number, changes: TaskChanges): Promise<Task> {
    return this.request("PATCH", `/api/tasks/${id}`, changes);
  }

  deleteTask(id: number): Promise<void> {
    return this.request("DELETE", `/api/tasks/${id}`);
  }

  chat(message: string, conversationId?: number | null): Promise<ChatReply> {
    return this.request("POST", "/api/chat", {
      message,
      ...(conversationId ? { conversation_id: conversationId } : {}),
    });
  }
}

export const api = new ApiClient();
