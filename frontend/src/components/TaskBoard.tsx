"use client";

import { useRef, useState, type FormEvent } from "react";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, type TaskFilter } from "@/lib/types";
import { TaskItem } from "./TaskItem";
import { useAsyncAction } from "./useAsyncAction";
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
  const creation = useAsyncAction();
  const titleRef = useRef<HTMLInputElement>(null);

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!title.trim()) {
      creation.setError("Please enter a title.");
      titleRef.current?.focus();
      return;
    }
    void creation.run(async () => {
      await board.createTask(title.trim(), description.trim() || undefined);
      setTitle("");
      setDescription("");
      titleRef.current?.focus();
    });
  }

  return (
    <section className="card" aria-labelledby="board-heading">
      <h2 id="board-heading">Your tasks</h2>
      <form className="new-task" onSubmit={create} aria-label="Add a task">
        <label htmlFor="new-task-title">Title</label>
        <input
          id="new-task-title"
          ref={titleRef}
          maxLength={TITLE_MAX_LENGTH}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          placeholder="What needs doing?"
          aria-invalid={creation.error ? true : undefined}
          aria-describedby={creation.error ? "new-task-error" : undefined}
        />
        <label htmlFor="new-task-description">Description (optional)</label>
        <textarea
          id="new-task-description"
          maxLength={DESCRIPTION_MAX_LENGTH}
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        {creation.error && (
          <p id="new-task-error" className="error" role="alert">
            {creation.error}
          </p>
        )}
        <div className="actions">
          <button className="button primary" type="submit" disabled={creation.pending}>
            {creation.pending ? "Adding…" : "Add task"}
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
