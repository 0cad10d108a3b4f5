import { describe, expect, it, vi } from "vitest";
import {
  applyLiveEvent,
  backoffDelay,
  LiveConnection,
  parseLiveEvent,
  type ConnectionStatus,
  type EventSourceLike,
  type LiveEvent,
} from "@/lib/liveEvents";
import type { Task } from "@/lib/types";

function task(id: number, overrides: Partial<Task> = {}): Task {
  const stamp = `2026-01-01T00:00:${String(id).padStart(2, "0")}Z`;
  return { id, title: `Task ${id}`, description: null, completed: false, created_at: stamp, updated_at: stamp, ...overrides };
}

describe("parseLiveEvent", () => {
  it("accepts the backend's event shapes and rejects junk", () => {
    expect(parseLiveEvent('{"type":"deleted","task_id":3}')).toEqual({ type: "deleted", task_id: 3 });
    expect(parseLiveEvent('{"type":"resync","reason":"gap"}')).toEqual({ type: "resync", reason: "gap" });
    expect(parseLiveEvent('{"type":"created"}')).toBeNull();
    expect(parseLiveEvent('{"type":"mystery","task_id":1}')).toBeNull();
    expect(parseLiveEvent("not json")).toBeNull();
  });
});

describe("applyLiveEvent", () => {
  const list = [task(2), task(1)];

  it("inserts a created task newest-first and ignores duplicates", () => {
    const created = task(3);
    const next = applyLiveEvent(list, { type: "created", task_id: 3, task: created }, "all");
    expect(next.map((t) => t.id)).toEqual([3, 2, 1]);
    expect(applyLiveEvent(next, { type: "created", task_id: 3, task: created }, "all").map((t) => t.id)).toEqual([3, 2, 1]);
  });

  it("replaces updated tasks and respects the filter", () => {
    const done = task(2, { completed: true, updated_at: "2026-01-02T00:00:00Z" });
    expect(applyLiveEvent(list, { type: "updated", task_id: 2, task: done }, "all")[0]).toEqual(done);
    expect(applyLiveEvent(list, { type: "updated", task_id: 2, task: done }, "open").map((t) => t.id)).toEqual([1]);
    expect(applyLiveEvent([], { type: "updated", task_id: 2, task: done }, "done")).toEqual([done]);
  });

  it("keeps a newer local copy over a stale event", () => {
    const fresh = [task(1, { title: "new", updated_at: "2026-02-01T00:00:00Z" })];
    const stale = task(1, { title: "old", updated_at: "2026-01-01T00:00:00Z" });
    expect(applyLiveEvent(fresh, { type: "updated", task_id: 1, task: stale }, "all")).toBe(fresh);
  });

  it("removes deleted tasks and returns the same array when nothing changes", () => {
    expect(applyLiveEvent(list, { type: "deleted", task_id: 1 }, "all").map((t) => t.id)).toEqual([2]);
    expect(applyLiveEvent(list, { type: "deleted", task_id: 99 }, "all")).toBe(list);
    expect(applyLiveEvent(list, { type: "updated", task_id: 1 }, "all").map((t) => t.id)).toEqual([2]);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially with jitter and is capped", () => {
    const low = { random: () => 0 };
    const high = { random: () => 1 };
    expect(backoffDelay(0, low)).toBe(250);
    expect(backoffDelay(0, high)).toBe(500);
    expect(backoffDelay(3, high)).toBe(4000);
    expect(backoffDelay(20, high)).toBe(15000);
    expect(backoffDelay(20, low)).toBe(7500);
  });
});

class FakeEventSource implements EventSourceLike {
  onopen: EventSourceLike["onopen"] = null;
  onmessage: EventSourceLike["onmessage"] = null;
  onerror: EventSourceLike["onerror"] = null;
  closed = false;
  constructor(readonly url: string) {}
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.call(this, new Event("open"));
  }
  send(data: unknown) {
    this.onmessage?.call(this, new MessageEvent("message", { data: JSON.stringify(data) }));
  }
  fail() {
    this.onerror?.call(this, new Event("error"));
  }
}

function harness() {
  const sources: FakeEventSource[] = [];
  const timers: { callback: () => void; ms: number }[] = [];
  const events: LiveEvent[] = [];
  const statuses: ConnectionStatus[] = [];
  const onResync = vi.fn();
  const connection = new LiveConnection({
    createEventSource: (url) => {
      const source = new FakeEventSource(url);
      sources.push(source);
      return source;
    },
    onEvent: (event) => events.push(event),
    onResync,
    onStatus: (status) => statuses.push(status),
    backoff: { random: () => 1, baseMs: 100, maxMs: 1000 },
    setTimer: (callback, ms) => timers.push({ callback, ms }),
    clearTimer: () => undefined,
  });
  return { connection, sources, timers, events, statuses, onResync };
}

describe("LiveConnection", () => {
  it("connects to /api/events and forwards task events", () => {
    const h = harness();
    h.connection.start();
    expect(h.sources[0]!.url).toBe("/api/events");
    h.sources[0]!.open();
    h.sources[0]!.send({ type: "ready", listening: true });
    h.sources[0]!.send({ type: "created", task_id: 1, task: task(1) });
    expect(h.statuses).toEqual(["connecting", "live"]);
    expect(h.events).toEqual([{ type: "created", task_id: 1, task: task(1) }]);
    expect(h.onResync).not.toHaveBeenCalled();
  });

  it("refetches on a resync event", () => {
    const h = harness();
    h.connection.start();
    h.sources[0]!.open();
    h.sources[0]!.send({ type: "resync", reason: "listener_gap" });
    expect(h.onResync).toHaveBeenCalledTimes(1);
    expect(h.events).toEqual([]);
  });

  it("reconnects with growing backoff, then resyncs once live again", () => {
    const h = harness();
    h.connection.start();
    h.sources[0]!.open();
    h.sources[0]!.fail();
    expect(h.sources[0]!.closed).toBe(true);
    expect(h.timers.map((t) => t.ms)).toEqual([100]);
    h.timers[0]!.callback();
    h.sources[1]!.fail();
    expect(h.timers.map((t) => t.ms)).toEqual([100, 200]);
    h.timers[1]!.callback();
    h.sources[2]!.open();
    expect(h.onResync).toHaveBeenCalledTimes(1);
    expect(h.statuses).toEqual(["connecting", "live", "reconnecting", "live"]);
    // a later failure starts again from the base delay
    h.sources[2]!.fail();
    expect(h.timers.at(-1)!.ms).toBe(100);
  });

  it("refetches after every reopen: the server replays nothing", () => {
    const h = harness();
    h.connection.start();
    h.sources[0]!.open();
    h.sources[0]!.send({ type: "ready", listening: true });
    for (let reopen = 1; reopen <= 3; reopen += 1) {
      h.sources[reopen - 1]!.fail(); // e.g. the server ended the stream when the token expired
      h.timers.at(-1)!.callback();
      h.sources[reopen]!.open();
      expect(h.onResync).toHaveBeenCalledTimes(reopen);
    }
  });

  it("stop closes the stream and ignores late callbacks", () => {
    const h = harness();
    h.connection.start();
    const source = h.sources[0]!;
    const onmessage = source.onmessage;
    h.connection.stop();
    expect(source.closed).toBe(true);
    onmessage?.call(source, new MessageEvent("message", { data: '{"type":"deleted","task_id":1}' }));
    expect(h.events).toEqual([]);
    expect(h.connection.currentStatus).toBe("stopped");
  });
});
