/**
 * Live task updates from GET /api/events (Server-Sent Events), kept free of React so it is unit-testable.
 *
 * The browser's own EventSource retry has no backoff and gives up for good on an HTTP error, so the
 * connection closes it on error and reconnects itself with capped exponential backoff plus jitter.
 * Resync has one mechanism: the server keeps no replay buffer and sends no event ids, so every reopen
 * (after a network error, a server restart, a 429 over the stream cap, or the server ending the stream
 * at token expiry) asks the board to refetch, as a `resync` event does.
 */
import type { Task, TaskFilter } from "./types";

export type LiveEvent =
  | { type: "created" | "updated"; task_id: number; task?: Task }
  | { type: "deleted"; task_id: number }
  | { type: "resync"; reason?: string }
  | { type: "ready"; instance?: string; listening?: boolean };

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "stopped";

export function parseLiveEvent(data: string): LiveEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const event = value as Record<string, unknown>;
  switch (event.type) {
    case "created":
    case "updated":
    case "deleted":
      return typeof event.task_id === "number" ? (event as unknown as LiveEvent) : null;
    case "resync":
    case "ready":
      return event as unknown as LiveEvent;
    default:
      return null;
  }
}

export function matchesFilter(task: Task, filter: TaskFilter): boolean {
  if (filter === "open") return !task.completed;
  if (filter === "done") return task.completed;
  return true;
}

function newestFirst(a: Task, b: Task): number {
  return b.created_at.localeCompare(a.created_at) || b.id - a.id;
}

/** Applies one event to the visible list; returns the same array when nothing changed. */
export function applyLiveEvent(tasks: Task[], event: LiveEvent, filter: TaskFilter): Task[] {
  if (event.type === "deleted") {
    return tasks.some((task) => task.id === event.task_id) ? tasks.filter((task) => task.id !== event.task_id) : tasks;
  }
  if (event.type !== "created" && event.type !== "updated") return tasks;
  const incoming = event.task;
  if (!incoming) {
    // The task was gone by the time the event was rendered: drop it if we show it.
    return tasks.some((task) => task.id === event.task_id) ? tasks.filter((task) => task.id !== event.task_id) : tasks;
  }
  const others = tasks.filter((task) => task.id !== incoming.id);
  if (!matchesFilter(incoming, filter)) return others.length === tasks.length ? tasks : others;
  const existing = tasks.find((task) => task.id === incoming.id);
  if (existing && existing.updated_at > incoming.updated_at) return tasks; // stale event after a newer local write
  if (existing) return tasks.map((task) => (task.id === incoming.id ? incoming : task));
  return [...others, incoming].sort(newestFirst);
}

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

/** Exponential backoff with "equal jitter": attempt 0 → 0.5–1 × base, capped at maxMs. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 15_000;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface EventSourceLike {
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null;
  onmessage: ((this: EventSourceLike, ev: MessageEvent) => unknown) | null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null;
  close(): void;
}

export interface LiveConnectionOptions {
  url?: string;
  createEventSource?: (url: string) => EventSourceLike;
  onEvent: (event: LiveEvent) => void;
  /** Events may have been missed: reload the list from the API. */
  onResync: () => void;
  onStatus?: (status: ConnectionStatus) => void;
  backoff?: BackoffOptions;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class LiveConnection {
  private source: EventSourceLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private everConnected = false;
  private status: ConnectionStatus = "stopped";
  private readonly options: Required<Omit<LiveConnectionOptions, "onStatus" | "backoff">> &
    Pick<LiveConnectionOptions, "onStatus" | "backoff">;

  constructor(options: LiveConnectionOptions) {
    this.options = {
      url: "/api/events",
      createEventSource: (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  get currentStatus(): ConnectionStatus {
    return this.status;
  }

  start(): void {
    if (this.status !== "stopped") return;
    this.connect();
  }

  stop(): void {
    this.closeSource();
    if (this.timer !== null) this.options.clearTimer(this.timer);
    this.timer = null;
    this.setStatus("stopped");
  }

  private connect(): void {
    this.timer = null;
    this.setStatus(this.everConnected ? "reconnecting" : "connecting");
    const source = this.options.createEventSource(this.options.url);
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempt = 0;
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.setStatus("live");
      if (reconnected) this.options.onResync();
    };
    source.onmessage = (message: MessageEvent) => {
      if (this.source !== source) return;
      const event = parseLiveEvent(String(message.data));
      if (!event) return;
      if (event.type === "resync") this.options.onResync();
      else if (event.type !== "ready") this.options.onEvent(event);
    };
    source.onerror = () => {
      if (this.source !== source) return;
      this.closeSource();
      const delay = backoffDelay(this.attempt, this.options.backoff);
      this.attempt += 1;
      this.setStatus("reconnecting");
      this.timer = this.options.setTimer(() => this.connect(), delay);
    };
  }

  private closeSource(): void {
    const source = this.source;
    this.source = null;
    if (source) {
      source.onopen = null;
      source.onmessage = null;
      source.onerror = null;
      source.close();
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }
}
