/** What to tell a person about something thrown: an Error's message (ApiError's is the backend's sentence). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
