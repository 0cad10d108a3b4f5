"use client";

import { useState, type FormEvent } from "react";
import { api } from "@/lib/api";
import { useAsyncAction } from "./useAsyncAction";

/** "Delete account": asks for the password, then deletes the account with everything in it. */
export function DeleteAccount({ onDeleted }: { onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const deletion = useAsyncAction();

  function submit(event: FormEvent) {
    event.preventDefault();
    void deletion.run(async () => {
      await api.deleteAccount(password);
      onDeleted();
    });
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
      <button className="button danger" type="submit" disabled={deletion.pending}>
        {deletion.pending ? "Deleting…" : "Delete my account"}
      </button>
      <button className="button" type="button" onClick={() => setOpen(false)} disabled={deletion.pending}>
        Cancel
      </button>
      {deletion.error && (
        <p className="error" role="alert">
          {deletion.error}
        </p>
      )}
    </form>
  );
}
