"use client";

import dynamic from "next/dynamic";
import { useEffect, useState } from "react";
import { ChatPanel } from "./ChatPanel";

/** Where OpenAI serves the <openai-chatkit> web component (the React package is only a thin wrapper). */
const CHATKIT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";
const CHATKIT_LOAD_TIMEOUT_MS = 5000;

// Loaded lazily so users without a ChatKit domain key never download the wrapper.
const ChatKitPanel = dynamic(() => import("./ChatKitPanel"), { ssr: false, loading: () => null });

type ChatKitState = "disabled" | "loading" | "ready" | "failed";

/** Resolves true once <openai-chatkit> is a defined custom element, false on error or timeout. */
function loadChatKitElement(): Promise<boolean> {
  if (customElements.get("openai-chatkit")) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CHATKIT_LOAD_TIMEOUT_MS);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    let script = document.querySelector<HTMLScriptElement>(`script[src="${CHATKIT_SCRIPT_URL}"]`);
    if (!script) {
      script = document.createElement("script");
      script.src = CHATKIT_SCRIPT_URL;
      script.async = true;
      document.head.appendChild(script);
    }
    script.addEventListener("error", () => finish(false), { once: true });
    void customElements.whenDefined("openai-chatkit").then(() => finish(true));
  });
}

export function AssistantPanel({
  chatkitDomainKey,
  onTasksChanged,
}: {
  chatkitDomainKey: string | null;
  onTasksChanged: () => void;
}) {
  const [chatkit, setChatkit] = useState<ChatKitState>(chatkitDomainKey ? "loading" : "disabled");

  useEffect(() => {
    if (!chatkitDomainKey) return;
    let cancelled = false;
    void loadChatKitElement().then((ok) => !cancelled && setChatkit(ok ? "ready" : "failed"));
    return () => {
      cancelled = true;
    };
  }, [chatkitDomainKey]);

  return (
    <section className="card" aria-labelledby="assistant-heading">
      <h2 id="assistant-heading">Assistant</h2>
      {chatkit === "ready" && chatkitDomainKey ? (
        <ChatKitPanel domainKey={chatkitDomainKey} onTasksChanged={onTasksChanged} />
      ) : (
        // Our own panel while ChatKit loads, when it is not configured, or when its script is unreachable:
        // the assistant is never a blank box.
        <ChatPanel onTasksChanged={onTasksChanged} />
      )}
    </section>
  );
}
