"use client";

import { useState, type FormEvent } from "react";
import { api } from "@/lib/api";

/** "Delete account": asks for the password, then deletes the account with everything in it. */
export function DeleteAccount({ onDeleted }: { onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDeleting(true);
    setError(null);
    try {
      await api.deleteAccount(password);
      onDeleted();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setDeleting(false);
    }
  }

  if (!open) {
    return (
      <button className="button danger" type="button" onClick={() => setOpen(true)}>
        Delete account…
      </button>
    );
  }
  return (
    <form onSubmit={submit} aria-label="Delete account">
      <label htmlFor="delete-account-password">Password (your tasks and conversations are deleted too)</label>
      <input
        id="delete-account-password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button className="button danger" type="submit" disabled={deleting}>
        {deleting ? "Deleting…" : "Delete my account"}
      </button>
      <button className="button" type="button" onClick={() => setOpen(false)} disabled={deleting}>
        Cancel
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
