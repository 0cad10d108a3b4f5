"use client";

import { useRef, useState, type FormEvent } from "react";
import type { TaskFilter } from "@/lib/types";
import { TaskItem } from "./TaskItem";
import type { useTaskBoard } from "./useTaskBoard";

const FILTERS: { value: TaskFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "open", label: "Open" },
  { value: "done", label: "Done" },
];

const EMPTY_TEXT: Record<TaskFilter, string> = {
  all: "No tasks yet. Add your first one above, or ask the assistant.",
  open: "No open tasks. Nice work!",
  done: "No completed tasks yet.",
};

export function TaskBoard({ board }: { board: ReturnType<typeof useTaskBoard> }) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!title.trim()) {
      setCreateError("Please enter a title.");
      titleRef.current?.focus();
      return;
    }
    setCreating(true);
    setCreateError(null);
    try {
      await board.createTask(title.trim(), description.trim() || undefined);
      setTitle("");
      setDescription("");
      titleRef.current?.focus();
    } catch (error) {
      setCreateError(error instanceof Error ? error.message : String(error));
    } finally {
      setCreating(false);
    }
  }

  return (
    <section className="card" aria-labelledby="board-heading">
      <h2 id="board-heading">Your tasks</h2>
      <form className="new-task" onSubmit={create} aria-label="Add a task">
        <label htmlFor="new-task-title">Title</label>
        <input
          id="new-task-title"
          ref={titleRef}
          maxLength={200}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          placeholder="What needs doing?"
          aria-invalid={createError ? true : undefined}
          aria-describedby={createError ? "new-task-error" : undefined}
        />
        <label htmlFor="new-task-description">Description (optional)</label>
        <textarea
          id="new-task-description"
          maxLength={2000}
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        {createError && (
          <p id="new-task-error" className="error" role="alert">
            {createError}
          </p>
        )}
        <div className="actions">
          <button className="button primary" type="submit" disabled={creating}>
            {creating ? "Adding…" : "Add task"}
          </button>
        </div>
      </form>

      <div className="filters" role="group" aria-label="Show tasks">
        {FILTERS.map((option) => (
          <button
            key={option.value}
            type="button"
            className="button"
            aria-pressed={board.filter === option.value}
            onClick={() => board.setFilter(option.value)}
          >
            {option.label}
          </button>
        ))}
      </div>

      {board.loadError && (
        <div className="error" role="alert">
          Could not load tasks: {board.loadError}{" "}
          <button className="button link" type="button" onClick={() => void board.reload()}>
            Try again
          </button>
        </div>
      )}
      <div aria-busy={board.loading} aria-live="polite">
        {board.loading && board.tasks.length === 0 ? (
          <p className="muted" role="status">
            Loading tasks…
          </p>
        ) : board.tasks.length === 0 ? (
          <p className="empty">{EMPTY_TEXT[board.filter]}</p>
        ) : (
          <ul className="task-list" aria-label="Tasks">
            {board.tasks.map((task) => (
              <TaskItem key={task.id} task={task} onUpdate={board.updateTask} onDelete={board.deleteTask} />
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
