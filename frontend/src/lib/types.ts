/**
 * The API's JSON shapes and limits, mirroring the backend's OpenAPI document (components.schemas named in
 * each comment). backend/tests/test_frontend_types.py fails when the two differ.
 */

/** TaskCreate / TaskUpdate `title` maxLength */
export const TITLE_MAX_LENGTH = 200;
/** TaskCreate / TaskUpdate `description` maxLength */
export const DESCRIPTION_MAX_LENGTH = 2000;
/** GET /api/tasks `limit` maximum: the board asks for as many tasks as one page may hold. */
export const TASK_LIST_LIMIT = 100;

/** UserRead */
export interface User {
  id: number;
  email: string;
  name: string | null;
  created_at: string;
}

/** TaskRead */
export interface Task {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

/** TaskUpdate: only the fields present change; a null description clears it. */
export interface TaskChanges {
  title?: string;
  description?: string | null;
  completed?: boolean;
}

/** ChatAction */
export interface ChatAction {
  tool: string;
  arguments: Record<string, unknown>;
  result: Record<string, unknown>;
}

/** ChatResponse */
export interface ChatReply {
  conversation_id: number;
  reply: string;
  actions: ChatAction[];
}

/** ValidationIssue */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** ErrorResponse: the body of every 4xx/5xx answer from the backend. */
export interface ApiErrorBody {
  detail: string;
  errors?: ValidationIssue[];
}

export type TaskFilter = "all" | "open" | "done";
