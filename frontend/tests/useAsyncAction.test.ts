import { act, createElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { useAsyncAction } from "@/components/useAsyncAction";
import { ApiError } from "@/lib/api";
import { errorMessage } from "@/lib/errorMessage";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

type Action = ReturnType<typeof useAsyncAction>;

let root: Root;
let latest: Action;

/** Renders a component that only uses the hook, and keeps what it returned on its last render. */
function renderHook(describeError?: (error: unknown) => string) {
  function Probe() {
    latest = useAsyncAction(describeError);
    return null;
  }
  act(() => root.render(createElement(Probe)));
}

/** A promise whose settling the test decides. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  root = createRoot(document.createElement("div"));
});

afterEach(() => {
  act(() => root.unmount());
});

describe("useAsyncAction", () => {
  it("is pending while the action runs, and not after it succeeds", async () => {
    renderHook();
    const step = deferred();
    let running!: Promise<void>;
    act(() => {
      running = latest.run(() => step.promise);
    });
    expect(latest.pending).toBe(true);
    expect(latest.error).toBeNull();
    await act(async () => {
      step.resolve();
      await running;
    });
    expect(latest).toMatchObject({ pending: false, error: null });
  });

  it("keeps the failure's message, never rejects, and clears the message when run again", async () => {
    renderHook();
    await act(() => latest.run(() => Promise.reject(new ApiError(401, "Incorrect email or password"))));
    expect(latest).toMatchObject({ pending: false, error: "Incorrect email or password" });

    const step = deferred();
    let running!: Promise<void>;
    act(() => {
      running = latest.run(() => step.promise);
    });
    expect(latest).toMatchObject({ pending: true, error: null });
    await act(async () => {
      step.reject("not an Error");
      await running;
    });
    expect(latest).toMatchObject({ pending: false, error: "not an Error" });
  });

  it("describes failures with the function it is given", async () => {
    renderHook((error) => `described: ${errorMessage(error)}`);
    await act(() => latest.run(() => Promise.reject(new Error("boom"))));
    expect(latest.error).toBe("described: boom");
    act(() => latest.setError(null));
    expect(latest.error).toBeNull();
  });
});

describe("errorMessage", () => {
  it("is an Error's message, or the thrown value as text", () => {
    expect(errorMessage(new ApiError(502, "Backend unavailable. Please try again shortly."))).toBe(
      "Backend unavailable. Please try again shortly.",
    );
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage(42)).toBe("42");
  });
});
