import { cookies } from "next/headers";
import { connection } from "next/server";
import { TaskPilotApp } from "@/components/TaskPilotApp";
import { loadInitialSession, SESSION_COOKIE } from "@/lib/initialSession";
import { backendUrlFromEnv } from "@/lib/proxy";

/**
 * Rendered per request so run-time settings (BACKEND_URL, CHATKIT_DOMAIN_KEY) reach the client without
 * NEXT_PUBLIC_* build-time values. Without a session cookie it never calls the backend, so probes get a
 * fast 200 even while the backend is down.
 */
export default async function HomePage() {
  await connection();
  const chatkitDomainKey = process.env.CHATKIT_DOMAIN_KEY?.trim() || null;
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const initialSession = await loadInitialSession(backendUrlFromEnv(), token);
  return <TaskPilotApp chatkitDomainKey={chatkitDomainKey} initialSession={initialSession} />;
}
