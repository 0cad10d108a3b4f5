/**
 * Server-side head start for the first paint: when the browser already has a session cookie, fetch the
 * user and the task list from the backend while rendering, so the board arrives in the HTML. Bounded by
 * a short timeout and never attempted without a cookie (health probes), so GET / stays fast when the
 * backend is slow or down; the client then loads (or shows "service unavailable") on its own.
 */
import type { Task, User } from "./types";

export const SESSION_COOKIE = "taskpilot_session";
const SERVER_FETCH_TIMEOUT_MS = 800;

export type InitialSession =
  | { state: "anonymous" }
  | { state: "signed-in"; user: User; tasks: Task[] }
  | { state: "unknown" }; // let the client find out

async function getJson<T>(url: string, token: string, signal: AbortSignal): Promise<{ status: number; body: T | null }> {
  const response = await fetch(url, {
    headers: { cookie: `${SESSION_COOKIE}=${token}`, accept: "application/json" },
    cache: "no-store",
    signal,
  });
  return { status: response.status, body: response.ok ? ((await response.json()) as T) : null };
}

export async function loadInitialSession(backendUrl: string, token: string | undefined): Promise<InitialSession> {
  // No cookie: the client asks /api/auth/me itself, which tells "log in" apart from "service unavailable".
  if (!token) return { state: "unknown" };
  const signal = AbortSignal.timeout(SERVER_FETCH_TIMEOUT_MS);
  try {
    const [me, tasks] = await Promise.all([
      getJson<User>(`${backendUrl}/api/auth/me`, token, signal),
      getJson<Task[]>(`${backendUrl}/api/tasks?limit=100`, token, signal),
    ]);
    if (me.status === 401) return { state: "anonymous" };
    if (me.body && tasks.body) return { state: "signed-in", user: me.body, tasks: tasks.body };
  } catch {
    // backend down or slow: the client takes over
  }
  return { state: "unknown" };
}
