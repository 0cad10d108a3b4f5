"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, type Task, type TaskChanges } from "@/lib/types";
import { useAsyncAction } from "./useAsyncAction";

export function TaskItem({
  task,
  onUpdate,
  onDelete,
}: {
  task: Task;
  onUpdate: (id: number, changes: TaskChanges) => Promise<void>;
  onDelete: (id: number) => Promise<void>;
}) {
  const [mode, setMode] = useState<"view" | "edit" | "confirm-delete">("view");
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const { pending: busy, error, setError, run } = useAsyncAction();
  // The checkbox flips at once; it falls back to the server's value when the request fails.
  const [pendingCompleted, setPendingCompleted] = useState<boolean | null>(null);
  const editTitleRef = useRef<HTMLInputElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const editButtonRef = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);

  useEffect(() => {
    if (mode === "edit") editTitleRef.current?.focus();
    else if (mode === "confirm-delete") confirmRef.current?.focus();
    else if (returnFocus.current) {
      returnFocus.current = false;
      editButtonRef.current?.focus();
    }
  }, [mode]);

  function startEdit() {
    setTitle(task.title);
    setDescription(task.description ?? "");
    setError(null);
    setMode("edit");
  }

  function backToView() {
    returnFocus.current = true;
    setMode("view");
  }

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!title.trim()) {
      setError("Title cannot be empty.");
      return;
    }
    void run(async () => {
      await onUpdate(task.id, { title: title.trim(), description: description.trim() || null });
      backToView();
    });
  }

  const checkboxId = `task-${task.id}-done`;
  return (
    <li className={`task${task.completed ? " done" : ""}`} data-task-id={task.id} aria-busy={busy}>
      {mode === "edit" ? (
        <form onSubmit={save} aria-label={`Edit task ${task.title}`}>
          <label htmlFor={`task-${task.id}-title`}>Edit title</label>
          <input
            id={`task-${task.id}-title`}
            ref={editTitleRef}
            maxLength={TITLE_MAX_LENGTH}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && backToView()}
          />
          <label htmlFor={`task-${task.id}-description`}>Edit description</label>
          <textarea
            id={`task-${task.id}-description`}
            maxLength={DESCRIPTION_MAX_LENGTH}
            rows={2}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && backToView()}
          />
          <div className="confirm">
            <button className="button primary" type="submit" disabled={busy}>
              {busy ? "Saving…" : "Save"}
            </button>
            <button className="button" type="button" onClick={backToView} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="task-row">
          <input
            id={checkboxId}
            type="checkbox"
            checked={pendingCompleted ?? task.completed}
            disabled={busy}
            onChange={(e) => {
              const completed = e.target.checked;
              setPendingCompleted(completed);
              void run(() => onUpdate(task.id, { completed })).finally(() => setPendingCompleted(null));
            }}
          />
          <div className="task-body">
            <label htmlFor={checkboxId} className="task-title" style={{ margin: 0, fontSize: "1rem" }}>
              <span className="sr-only">{task.completed ? "Completed: " : "Mark complete: "}</span>
              <span className="task-title-text">{task.title}</span>
            </label>
            {task.description && <p className="task-description">{task.description}</p>}
          </div>
          <div className="task-actions">
            <button
              ref={editButtonRef}
              className="button"
              type="button"
              onClick={startEdit}
              aria-label={`Edit ${task.title}`}
              disabled={busy}
            >
              Edit
            </button>
            <button
              className="button danger"
              type="button"
              onClick={() => setMode("confirm-delete")}
              aria-label={`Delete ${task.title}`}
              disabled={busy || mode === "confirm-delete"}
            >
              Delete
            </button>
          </div>
        </div>
      )}
      {mode === "confirm-delete" && (
        <div className="confirm" role="group" aria-label="Confirm delete">
          <span>Delete “{task.title}”? This cannot be undone.</span>
          <button
            ref={confirmRef}
            className="button danger"
            type="button"
            disabled={busy}
            onClick={() => void run(() => onDelete(task.id))}
          >
            {busy ? "Deleting…" : "Yes, delete"}
          </button>
          <button className="button" type="button" onClick={backToView} disabled={busy}>
            Keep it
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
