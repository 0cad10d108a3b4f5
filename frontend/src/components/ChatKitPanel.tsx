"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";

/** The official ChatKit UI talking to our backend's ChatKit server at /api/chatkit (cookie auth). */
export default function ChatKitPanel({ domainKey, onTasksChanged }: { domainKey: string; onTasksChanged: () => void }) {
  const { control } = useChatKit({
    api: {
      url: "/api/chatkit",
      domainKey,
      fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
    },
    onResponseEnd: onTasksChanged,
  });
  return <ChatKit control={control} className="chatkit-host" />;
}
