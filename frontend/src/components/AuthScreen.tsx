"use client";

import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from "react";
import { api, ApiError } from "@/lib/api";
import { errorMessage } from "@/lib/errorMessage";
import type { User } from "@/lib/types";
import { useAsyncAction } from "./useAsyncAction";

type Mode = "login" | "signup";

/** The page asked nobody before showing this form, so a backend that is down shows up only here. */
function describeAuthError(error: unknown): string {
  if (error instanceof ApiError && error.serviceUnavailable) {
    return "Service unavailable: TaskPilot cannot reach its server right now. Please try again in a moment.";
  }
  return errorMessage(error);
}

const subscribeToNothing = () => () => {};

/** False in the server's HTML and while React hydrates it, true once React handles the page's events. */
function useHydrated(): boolean {
  return useSyncExternalStore(subscribeToNothing, () => true, () => false);
}

export function AuthScreen({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [mode, setMode] = useState<Mode>("login");
  const auth = useAsyncAction(describeAuthError);
  const hydrated = useHydrated();
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    headingRef.current?.focus();
  }, [mode]);

  // The form arrives in the server's HTML: its fields are uncontrolled, and read on submit, so nothing
  // typed before hydration is lost.
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const email = String(fields.get("email") ?? "");
    const password = String(fields.get("password") ?? "");
    const name = String(fields.get("name") ?? "").trim();
    void auth.run(async () => {
      const result = mode === "signup" ? await api.signup(email, password, name || undefined) : await api.login(email, password);
      onSignedIn(result.user);
    });
  }

  function switchTo(next: Mode) {
    setMode(next);
    auth.setError(null);
  }

  const signup = mode === "signup";
  return (
    <main className="center-screen">
      <div className="card auth-card">
        <p className="brand">TaskPilot AI</p>
        <h1 ref={headingRef} tabIndex={-1}>
          {signup ? "Create your account" : "Log in"}
        </h1>
        <form onSubmit={submit} aria-describedby={auth.error ? "auth-error" : undefined}>
          {/* Hidden rather than unmounted in login mode, so a name typed before switching is kept. */}
          <div hidden={!signup}>
            <label htmlFor="auth-name">Name (optional)</label>
            <input id="auth-name" name="name" autoComplete="name" />
          </div>
          <label htmlFor="auth-email">Email</label>
          <input id="auth-email" name="email" type="email" autoComplete="email" required />
          <label htmlFor="auth-password">Password</label>
          <input
            id="auth-password"
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 8 : undefined}
            aria-describedby={signup ? "auth-password-hint" : undefined}
          />
          {signup && (
            <p id="auth-password-hint" className="muted">
              At least 8 characters.
            </p>
          )}
          {auth.error && (
            <p id="auth-error" className="error" role="alert">
              {auth.error}
            </p>
          )}
          {/* Disabled until hydrated: before that, a click would submit the form natively (a GET with the
              password in the URL). */}
          <button className="button primary" type="submit" disabled={auth.pending || !hydrated}>
            {auth.pending ? (signup ? "Creating account…" : "Logging in…") : signup ? "Sign up" : "Log in"}
          </button>
        </form>
        <p className="muted">
          {signup ? "Already have an account? " : "New to TaskPilot? "}
          <button className="button link" type="button" onClick={() => switchTo(signup ? "login" : "signup")}>
            {signup ? "Log in" : "Create an account"}
          </button>
        </p>
      </div>
    </main>
  );
}
