"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "@/lib/api";
import { applyLiveEvent, LiveConnection, type ConnectionStatus, type LiveEvent } from "@/lib/liveEvents";
import { errorMessage } from "@/lib/errorMessage";
import type { Task, TaskChanges, TaskFilter } from "@/lib/types";

/** The visible task list for one filter, kept current by REST calls and the live event stream. */
export function useTaskBoard(initialTasks?: Task[]) {
  const [filter, setFilter] = useState<TaskFilter>("all");
  // Server-rendered tasks paint at once; the mount-time reload below still catches any change made
  // between that server fetch and the event stream's subscription.
  const [tasks, setTasks] = useState<Task[]>(initialTasks ?? []);
  const [loading, setLoading] = useState(initialTasks === undefined);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [connection, setConnection] = useState<ConnectionStatus>("connecting");
  const filterRef = useRef(filter);
  const loadSeq = useRef(0);

  const reload = useCallback(async () => {
    const seq = ++loadSeq.current;
    const wanted = filterRef.current;
    try {
      const fresh = await api.listTasks(wanted);
      if (seq !== loadSeq.current) return; // a newer load (e.g. another filter) superseded this one
      setTasks(fresh);
      setLoadError(null);
    } catch (error) {
      if (seq !== loadSeq.current) return;
      setLoadError(errorMessage(error));
    } finally {
      if (seq === loadSeq.current) setLoading(false);
    }
  }, []);

  const apply = useCallback((event: LiveEvent) => {
    setTasks((current) => applyLiveEvent(current, event, filterRef.current));
  }, []);

  useEffect(() => {
    filterRef.current = filter;
    void reload();
  }, [filter, reload]);

  useEffect(() => {
    const live = new LiveConnection({ onEvent: apply, onResync: () => void reload(), onStatus: setConnection });
    live.start();
    return () => live.stop();
  }, [apply, reload]);

  const changeFilter = useCallback((next: TaskFilter) => {
    setLoading(true);
    setFilter(next);
  }, []);

  const createTask = useCallback(async (title: string, description?: string) => {
    const task = await api.createTask(title, description);
    apply({ type: "created", task_id: task.id, task });
  }, [apply]);

  const updateTask = useCallback(async (id: number, changes: TaskChanges) => {
    const task = await api.updateTask(id, changes);
    apply({ type: "updated", task_id: task.id, task });
  }, [apply]);

  const deleteTask = useCallback(async (id: number) => {
    await api.deleteTask(id);
    apply({ type: "deleted", task_id: id });
  }, [apply]);

  return { filter, setFilter: changeFilter, tasks, loading, loadError, connection, reload, createTask, updateTask, deleteTask };
}
