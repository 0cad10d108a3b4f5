"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "@/lib/api";
import type { User } from "@/lib/types";

type Mode = "login" | "signup";

export function AuthScreen({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [mode, setMode] = useState<Mode>("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    headingRef.current?.focus();
  }, [mode]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = mode === "signup" ? await api.signup(email, password, name.trim() || undefined) : await api.login(email, password);
      onSignedIn(result.user);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  }

  function switchTo(next: Mode) {
    setMode(next);
    setError(null);
  }

  const signup = mode === "signup";
  return (
    <main className="center-screen">
      <div className="card auth-card">
        <p className="brand">TaskPilot AI</p>
        <h1 ref={headingRef} tabIndex={-1}>
          {signup ? "Create your account" : "Log in"}
        </h1>
        <form onSubmit={submit} aria-describedby={error ? "auth-error" : undefined}>
          {signup && (
            <>
              <label htmlFor="auth-name">Name (optional)</label>
              <input id="auth-name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
            </>
          )}
          <label htmlFor="auth-email">Email</label>
          <input
            id="auth-email"
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <label htmlFor="auth-password">Password</label>
          <input
            id="auth-password"
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 8 : undefined}
            aria-describedby={signup ? "auth-password-hint" : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {signup && (
            <p id="auth-password-hint" className="muted">
              At least 8 characters.
            </p>
          )}
          {error && (
            <p id="auth-error" className="error" role="alert">
              {error}
            </p>
          )}
          <button className="button primary" type="submit" disabled={busy}>
            {busy ? (signup ? "Creating account…" : "Logging in…") : signup ? "Sign up" : "Log in"}
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
