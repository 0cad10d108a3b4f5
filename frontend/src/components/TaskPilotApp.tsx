"use client";

import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "@/lib/api";
import { errorMessage } from "@/lib/errorMessage";
import type { InitialSession } from "@/lib/initialSession";
import type { Task, User } from "@/lib/types";
import { AuthScreen } from "./AuthScreen";
import { Workspace } from "./Workspace";

const RETRY_WHILE_UNAVAILABLE_MS = 3000;

type Session =
  | { state: "checking" }
  | { state: "anonymous" }
  | { state: "unavailable"; message: string }
  | { state: "signed-in"; user: User; initialTasks?: Task[] };

function fromServer(initial: InitialSession): Session {
  if (initial.state === "signed-in") return { state: "signed-in", user: initial.user, initialTasks: initial.tasks };
  if (initial.state === "anonymous") return { state: "anonymous" };
  return { state: "checking" };
}

export function TaskPilotApp({
  chatkitDomainKey,
  initialSession,
}: {
  chatkitDomainKey: string | null;
  initialSession: InitialSession;
}) {
  // The server knows the answer without a cookie, or when it could reach the backend; otherwise ask from here.
  const [session, setSession] = useState<Session>(() => fromServer(initialSession));
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (attempt === 0 && initialSession.state !== "unknown") return;
    let cancelled = false;
    api.me().then(
      (user) => !cancelled && setSession({ state: "signed-in", user }),
      (error: unknown) => {
        if (cancelled) return;
        if (error instanceof ApiError && error.unauthorized) setSession({ state: "anonymous" });
        else setSession({ state: "unavailable", message: errorMessage(error) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [attempt, initialSession.state]);

  useEffect(() => {
    if (session.state !== "unavailable") return;
    const timer = setTimeout(() => setAttempt((n) => n + 1), RETRY_WHILE_UNAVAILABLE_MS);
    return () => clearTimeout(timer);
  }, [session, attempt]);

  const signedOut = useCallback(() => setSession({ state: "anonymous" }), []);
  const signedIn = useCallback((user: User) => setSession({ state: "signed-in", user }), []);

  switch (session.state) {
    case "checking":
      return (
        <main className="center-screen" aria-busy="true">
          <p className="muted" role="status">Loading TaskPilot…</p>
        </main>
      );
    case "unavailable":
      return (
        <main className="center-screen">
          <div className="card auth-card" role="alert">
            <h1>Service unavailable, retrying…</h1>
            <p className="muted">TaskPilot cannot reach its server right now. This page retries automatically.</p>
            <button className="button" type="button" onClick={() => setAttempt((n) => n + 1)}>
              Retry now
            </button>
          </div>
        </main>
      );
    case "anonymous":
      return <AuthScreen onSignedIn={signedIn} />;
    case "signed-in":
      return (
        <Workspace
          user={session.user}
          initialTasks={session.initialTasks}
          chatkitDomainKey={chatkitDomainKey} onSignedOut={signedOut}
        />
      );
  }
}
