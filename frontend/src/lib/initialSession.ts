/**
 * Server-side head start for the first paint. Without a session cookie the visitor is anonymous: the login
 * form is in the first HTML and nobody asks the backend (health probes stay fast while it is down; a login
 * that cannot reach it says "service unavailable"). With a cookie, fetch the user and the task list while
 * rendering, so the board arrives in the HTML; bounded by a short timeout, after which the client loads
 * (or shows "service unavailable") on its own.
 */
import { TASK_LIST_LIMIT, type Task, type User } from "./types";

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
  if (!token) return { state: "anonymous" };
  const signal = AbortSignal.timeout(SERVER_FETCH_TIMEOUT_MS);
  try {
    const [me, tasks] = await Promise.all([
      getJson<User>(`${backendUrl}/api/auth/me`, token, signal),
      getJson<Task[]>(`${backendUrl}/api/tasks?limit=${TASK_LIST_LIMIT}`, token, signal),
    ]);
    if (me.status === 401) return { state: "anonymous" };
    if (me.body && tasks.body) return { state: "signed-in", user: me.body, tasks: tasks.body };
  } catch {
    // backend down or slow: the client takes over
  }
  return { state: "unknown" };
}
