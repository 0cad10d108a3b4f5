"use client";

import { useEffect, useRef } from "react";
import { api } from "@/lib/api";
import type { ConnectionStatus } from "@/lib/liveEvents";
import type { Task, User } from "@/lib/types";
import { AssistantPanel } from "./AssistantPanel";
import { DeleteAccount } from "./DeleteAccount";
import { TaskBoard } from "./TaskBoard";
import { useAsyncAction } from "./useAsyncAction";
import { useTaskBoard } from "./useTaskBoard";

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Offline",
};

function ConnectionIndicator({ status }: { status: ConnectionStatus }) {
  return (
    <span className="live" data-status={status} role="status" title="Live updates from other tabs and the assistant">
      <span className="dot" aria-hidden="true" />
      <span>
        <span className="sr-only">Live updates: </span>
        {STATUS_TEXT[status]}
      </span>
    </span>
  );
}

export function Workspace({
  user,
  initialTasks,
  chatkitDomainKey,
  onSignedOut,
}: {
  user: User;
  initialTasks?: Task[];
  chatkitDomainKey: string | null;
  onSignedOut: () => void;
}) {
  const board = useTaskBoard(initialTasks);
  const logout = useAsyncAction();
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    mainRef.current?.focus();
  }, []);

  function logOut() {
    void logout.run(async () => {
      await api.logout();
      onSignedOut();
    });
  }

  return (
    <>
      <header className="app-header">
        <p className="brand">TaskPilot AI</p>
        <div className="who">
          <ConnectionIndicator status={board.connection} />
          <span className="muted" data-testid="current-user">
            {user.name ? `${user.name} (${user.email})` : user.email}
          </span>
          <button className="button" type="button" onClick={logOut} disabled={logout.pending}>
            {logout.pending ? "Logging out…" : "Log out"}
          </button>
          <DeleteAccount onDeleted={onSignedOut} />
        </div>
        {logout.error && (
          <p className="error" role="alert">
            {logout.error}
          </p>
        )}
      </header>
      <main className="layout" ref={mainRef} tabIndex={-1} aria-label="Your workspace">
        <TaskBoard board={board} />
        <AssistantPanel chatkitDomainKey={chatkitDomainKey} onTasksChanged={board.reload} />
      </main>
    </>
  );
}
