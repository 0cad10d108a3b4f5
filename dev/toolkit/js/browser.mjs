// Debian's Chromium driven by playwright-core (the frontend's dependency): no browser download, ever.
// Shared by the browser tests (frontend/browser-tests) and the frontend benchmark (dev/bench).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REPO_ROOT } from "./harness.mjs";

// playwright-core is installed in frontend/node_modules; resolve it from there, not from this folder.
const { chromium } = createRequire(join(REPO_ROOT, "frontend", "package.json"))("playwright-core");

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export async function launchChromium() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A browser context that can only reach our own servers: anything else (e.g. OpenAI's ChatKit CDN) is
 * aborted, which is also exactly the "CDN unreachable" case the assistant panel must survive.
 */
export async function newLocalContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort("blockedbyclient"));
  return context;
}
