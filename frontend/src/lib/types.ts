export interface User {
  id: number;
  email: string;
  name: string | null;
  created_at: string;
}

export interface Task {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

export interface ChatAction {
  tool: string;
  arguments: Record<string, unknown>;
  result: unknown;
}

export interface ChatReply {
  conversation_id: number;
  reply: string;
  actions: ChatAction[];
}

export type TaskFilter = "all" | "open" | "done";
