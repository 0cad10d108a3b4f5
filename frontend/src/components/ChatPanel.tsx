"use client";

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { api } from "@/lib/api";
import { errorMessage } from "@/lib/errorMessage";
import type { ChatAction } from "@/lib/types";

interface ChatMessage {
  id: number;
  role: "user" | "assistant" | "error";
  text: string;
  actions?: ChatAction[];
}

function describeArguments(args: Record<string, unknown>): string {
  return Object.entries(args)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? `“${value}”` : JSON.stringify(value)}`)
    .join(", ");
}

function describeResult(result: unknown): string {
  if (result && typeof result === "object") {
    const record = result as Record<string, unknown>;
    if (typeof record.error === "string") return `failed: ${record.error}`;
    if (typeof record.title === "string") return `“${record.title}”`;
    if (Array.isArray(record.tasks)) return `${record.tasks.length} task(s)`;
  }
  if (Array.isArray(result)) return `${result.length} task(s)`;
  return "done";
}

export function ChatPanel({ onTasksChanged }: { onTasksChanged: () => void }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const nextId = useRef(1);
  const logRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    logRef.current?.lastElementChild?.scrollIntoView({ block: "nearest" });
  }, [messages]);

  function push(message: Omit<ChatMessage, "id">) {
    const id = nextId.current++;
    setMessages((current) => [...current, { ...message, id }]);
  }

  async function send(event?: FormEvent<HTMLFormElement>) {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || sending) return;
    push({ role: "user", text });
    setDraft("");
    setSending(true);
    try {
      const reply = await api.chat(text, conversationId);
      setConversationId(reply.conversation_id);
      push({ role: "assistant", text: reply.reply, actions: reply.actions });
      if (reply.actions.length > 0) onTasksChanged();
    } catch (error) {
      push({ role: "error", text: `The assistant could not answer: ${errorMessage(error)}` });
    } finally {
      setSending(false);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  }

  return (
    <div>
      {messages.length === 0 ? (
        <p className="muted">
          Ask me to manage your tasks, for example “add buy milk”, “list my open tasks” or “complete buy milk”.
        </p>
      ) : null}
      <ol className="chat-log" ref={logRef} aria-label="Conversation" aria-live="polite">
        {messages.map((message) => (
          <li key={message.id} className={`chat-message ${message.role}`} data-role={message.role}>
            <span className="sr-only">{message.role === "user" ? "You said: " : "Assistant: "}</span>
            {message.role === "error" ? <span className="error">{message.text}</span> : message.text}
            {message.actions && message.actions.length > 0 && (
              <ul className="chat-actions" aria-label="Actions taken">
                {message.actions.map((action, index) => (
                  <li key={index} data-testid="chat-action">
                    <strong>{action.tool}</strong>
                    {Object.keys(action.arguments ?? {}).length > 0 && ` (${describeArguments(action.arguments)})`} →{" "}
                    {describeResult(action.result)}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
        {sending && (
          <li className="chat-message assistant muted" role="status">
            Thinking…
          </li>
        )}
      </ol>
      <form className="chat-form" onSubmit={send}>
        <label htmlFor="chat-input">Message the assistant</label>
        <textarea
          id="chat-input"
          rows={2}
          maxLength={4000}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          placeholder="e.g. add call the dentist"
        />
        <div className="actions">
          <button className="button primary" type="submit" disabled={sending || !draft.trim()}>
            {sending ? "Sending…" : "Send"}
          </button>
        </div>
      </form>
    </div>
  );
}
