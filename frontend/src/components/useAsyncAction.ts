"use client";

import { useCallback, useState } from "react";
import { errorMessage } from "@/lib/errorMessage";

/**
 * The state of one async action a component runs (a form submit, a button): `pending` while it runs, and
 * `error`, the message of its last failure, cleared when it runs again. `run` never rejects.
 */
export function useAsyncAction(describeError: (error: unknown) => string = errorMessage) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(
    async (action: () => Promise<void>): Promise<void> => {
      setPending(true);
      setError(null);
      try {
        await action();
      } catch (caught) {
        setError(describeError(caught));
      } finally {
        setPending(false);
      }
    },
    [describeError],
  );

  return { pending, error, setError, run };
}
