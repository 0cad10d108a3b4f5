// Browser tests: Debian's Chromium (playwright-core) against the production frontend build, the real
// backend and PostgreSQL, all started by the toolkit's harness. Run with `npm run test:browser` (needs
// `npm run build` and the repo's .venv; uses TEST_DATABASE_URL when set, else a throwaway PostgreSQL).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { launchChromium, newLocalContext } from "../../dev/toolkit/js/browser.mjs";
import { freePort, startBackend, startFrontend, startStack } from "../../dev/toolkit/js/harness.mjs";

const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "test-results");

const PASSWORD = "correct horse battery";
const LIVE_UPDATE_DEADLINE_MS = 2000; // the product requirement: other tabs see a change within 2 s
let stack;
let browser;
let userCounter = 0;

function uniqueEmail(label) {
  userCounter += 1;
  return `${label}-${Date.now()}-${userCounter}@example.com`;
}

/** Runs `body`; on failure saves a full-page screenshot of every given page to test-results/. */
async function withScreenshots(name, pages, body) {
  try {
    await body();
  } catch (error) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    for (const [index, page] of pages().entries()) {
      const path = join(RESULTS_DIR, `${slug}-${index}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => undefined);
      console.error(`screenshot saved: ${path}`);
    }
    throw error;
  }
}

/** A new user, signed up from a context of its own (the caller's pages stay anonymous). */
async function signUpElsewhere() {
  const context = await newLocalContext(browser);
  try {
    return await signUpThroughApi(context);
  } finally {
    await context.close();
  }
}

async function signUpThroughApi(context, email = uniqueEmail("api")) {
  const response = await context.request.post(`${stack.frontendUrl}/api/auth/signup`, {
    data: { email, password: PASSWORD },
  });
  assert.equal(response.status(), 201, await response.text());
  return email;
}

async function addTaskThroughApi(context, title) {
  // With the page's session cookie, as the page itself would: the backend refuses cookie writes without
  // a same-origin Origin (a browser adds it; this API client does not).
  const response = await context.request.post(`${stack.frontendUrl}/api/tasks`, {
    data: { title },
    headers: { origin: stack.frontendUrl },
  });
  assert.equal(response.status(), 201, await response.text());
}

async function openBoard(page, baseUrl = stack.frontendUrl) {
  await page.goto(`${baseUrl}/`);
  await page.getByRole("heading", { name: "Your tasks" }).waitFor();
}

function taskItem(page, title) {
  return page.locator("ul.task-list > li").filter({ hasText: title });
}

async function addTaskThroughUi(page, title, description) {
  await page.getByLabel("Title", { exact: true }).fill(title);
  if (description) await page.getByLabel("Description (optional)").fill(description);
  await page.getByRole("button", { name: "Add task" }).click();
  await taskItem(page, title).waitFor();
}

async function visibleTaskTitles(page) {
  return page.locator("ul.task-list > li .task-title-text").allInnerTexts();
}

async function showFilter(page, label) {
  await page.getByRole("group", { name: "Show tasks" }).getByRole("button", { name: label, exact: true }).click();
  await page.locator(`.filters button[aria-pressed="true"]`, { hasText: label }).waitFor();
  await page.locator('[aria-busy="false"][aria-live="polite"]').waitFor();
}

/** Counts the page's requests to /api/auth/me. */
function countMeRequests(page) {
  const seen = { count: 0 };
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/auth/me") seen.count += 1;
  });
  return seen;
}

async function logInThroughUi(page, email, password = PASSWORD) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function waitUntilLive(page) {
  await page.locator('.live[data-status="live"]').waitFor({ timeout: 10_000 });
}

describe("TaskPilot in a real browser", () => {
  before(async () => {
    stack = await startStack({ logDir: RESULTS_DIR });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test("sign up, then add, edit, complete, filter and delete tasks", async () => {
    const context = await newLocalContext(browser);
    const page = await context.newPage();
    // The whole flow runs under the production CSP: any blocked script, style or request shows up here.
    const cspViolations = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await withScreenshots("board crud", () => [page], async () => {
      const document = await page.goto(`${stack.frontendUrl}/`);
      const headers = document.headers();
      assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
      assert.equal(headers["x-content-type-options"], "nosniff");
      assert.equal(headers["referrer-policy"], "strict-origin-when-cross-origin");
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await page.getByRole("button", { name: "Create an account" }).click();
      await page.getByRole("heading", { name: "Create your account" }).waitFor();
      // switching to log in and back keeps what was typed
      await page.getByLabel("Name (optional)").fill("Ada");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("button", { name: "Create an account" }).click();
      assert.equal(await page.getByLabel("Name (optional)").inputValue(), "Ada");
      const email = uniqueEmail("crud");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.getByRole("heading", { name: "Your tasks" }).waitFor();
      await page.getByTestId("current-user").filter({ hasText: email }).waitFor();
      await page.getByText("No tasks yet").waitFor(); // empty state

      await addTaskThroughUi(page, "Buy milk", "Two litres");
      await addTaskThroughUi(page, "Write report");
      assert.deepEqual(await visibleTaskTitles(page), ["Write report", "Buy milk"]);

      // edit title and description
      await taskItem(page, "Buy milk").getByRole("button", { name: "Edit Buy milk" }).click();
      await page.getByLabel("Edit title").fill("Buy oat milk");
      await page.getByLabel("Edit description").fill("Three litres");
      await page.getByRole("button", { name: "Save" }).click();
      await taskItem(page, "Buy oat milk").getByText("Three litres").waitFor();

      // complete one
      await taskItem(page, "Write report").getByRole("checkbox").check();
      await page.locator("ul.task-list > li.done", { hasText: "Write report" }).waitFor();

      await showFilter(page, "Open");
      assert.deepEqual(await visibleTaskTitles(page), ["Buy oat milk"]);
      await showFilter(page, "Done");
      assert.deepEqual(await visibleTaskTitles(page), ["Write report"]);
      await showFilter(page, "All");
      assert.deepEqual(await visibleTaskTitles(page), ["Write report", "Buy oat milk"]);

      // the edits really reached the backend
      await page.reload();
      await taskItem(page, "Buy oat milk").getByText("Three litres").waitFor();
      assert.equal(await taskItem(page, "Write report").getByRole("checkbox").isChecked(), true);

      // delete asks first; "Keep it" keeps it
      await taskItem(page, "Buy oat milk").getByRole("button", { name: "Delete Buy oat milk" }).click();
      await page.getByRole("button", { name: "Keep it" }).click();
      await taskItem(page, "Buy oat milk").waitFor();
      await taskItem(page, "Buy oat milk").getByRole("button", { name: "Delete Buy oat milk" }).click();
      await page.getByRole("button", { name: "Yes, delete" }).click();
      await taskItem(page, "Buy oat milk").waitFor({ state: "detached" });
      await taskItem(page, "Write report").getByRole("button", { name: "Delete Write report" }).click();
      await page.getByRole("button", { name: "Yes, delete" }).click();
      await page.getByText("No tasks yet").waitFor();
      await page.reload();
      await page.getByText("No tasks yet").waitFor();
      assert.deepEqual(cspViolations, []);
    });
    await context.close();
  });

  test("an anonymous visitor gets the login form in the first HTML, without asking /api/auth/me", async () => {
    const html = await (await fetch(`${stack.frontendUrl}/`)).text();
    assert.match(html, /<form[^>]*>.*id="auth-email"/s, "the login form is server-rendered");
    assert.doesNotMatch(html, /Loading TaskPilot/);
    const context = await newLocalContext(browser);
    const page = await context.newPage();
    const me = countMeRequests(page);
    await withScreenshots("anonymous first paint", () => [page], async () => {
      await page.goto(`${stack.frontendUrl}/`);
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await page.getByRole("button", { name: "Log in" }).and(page.locator(":enabled")).waitFor(); // hydrated
      await page.waitForLoadState("networkidle");
      assert.equal(me.count, 0, "no /api/auth/me round trip before the form");
      const email = await signUpElsewhere();
      await logInThroughUi(page, email);
      await page.getByRole("heading", { name: "Your tasks" }).waitFor();
    });
    await context.close();
  });

  test("before the page's scripts run, the server-rendered login form cannot be submitted", async () => {
    const context = await newLocalContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await withScreenshots("login before hydration", () => [page], async () => {
      await page.goto(`${stack.frontendUrl}/`);
      await page.getByLabel("Email").fill("early@example.com");
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      assert.equal(await page.getByRole("button", { name: "Log in" }).isDisabled(), true);
      await page.getByLabel("Password", { exact: true }).press("Enter");
      // A native submit would be a GET to /?email=…&password=…: the password in the address bar and logs.
      const navigated = await page.waitForURL(/password=/, { timeout: 1000 }).then(() => true, () => false);
      assert.equal(navigated, false, `the form was submitted natively: ${page.url()}`);
    });
    await context.close();
  });

  test("an API error is shown to the user", async () => {
    const context = await newLocalContext(browser);
    const page = await context.newPage();
    await withScreenshots("api error", () => [page], async () => {
      await page.goto(`${stack.frontendUrl}/`);
      await page.getByLabel("Email").fill(uniqueEmail("nobody"));
      await page.getByLabel("Password", { exact: true }).fill("wrong password");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("alert").filter({ hasText: "Incorrect email or password" }).waitFor();
    });
    await context.close();
  });

  test("log out and log back in", async () => {
    const context = await newLocalContext(browser);
    const page = await context.newPage();
    await withScreenshots("logout login", () => [page], async () => {
      const email = await signUpThroughApi(context);
      await addTaskThroughApi(context, "Survives a logout");
      await openBoard(page);
      await taskItem(page, "Survives a logout").waitFor();

      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      const me = await context.request.get(`${stack.frontendUrl}/api/auth/me`);
      assert.equal(me.status(), 401, "the session cookie is gone after logging out");
      await page.reload();
      await page.getByRole("heading", { name: "Log in" }).waitFor();

      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await taskItem(page, "Survives a logout").waitFor();
    });
    await context.close();
  });

  test("a task added in one browser context appears in another of the same user within 2 s", async () => {
    const first = await newLocalContext(browser);
    const email = await signUpThroughApi(first);
    const second = await newLocalContext(browser);
    const login = await second.request.post(`${stack.frontendUrl}/api/auth/login`, { data: { email, password: PASSWORD } });
    assert.equal(login.status(), 200);
    const pageA = await first.newPage();
    const pageB = await second.newPage();
    await withScreenshots("live updates", () => [pageA, pageB], async () => {
      await openBoard(pageA);
      await openBoard(pageB);
      await waitUntilLive(pageB);

      await addTaskThroughUi(pageA, "Appears everywhere");
      await taskItem(pageB, "Appears everywhere").waitFor({ timeout: LIVE_UPDATE_DEADLINE_MS });

      await taskItem(pageA, "Appears everywhere").getByRole("checkbox").check();
      await pageB.locator("ul.task-list > li.done", { hasText: "Appears everywhere" }).waitFor({ timeout: LIVE_UPDATE_DEADLINE_MS });

      await taskItem(pageA, "Appears everywhere").getByRole("button", { name: "Delete Appears everywhere" }).click();
      await pageA.getByRole("button", { name: "Yes, delete" }).click();
      await taskItem(pageB, "Appears everywhere").waitFor({ state: "detached", timeout: LIVE_UPDATE_DEADLINE_MS });
    });
    await first.close();
    await second.close();
  });

  test("a second user sees none of the first user's tasks", async () => {
    const alice = await newLocalContext(browser);
    await signUpThroughApi(alice, uniqueEmail("alice"));
    await addTaskThroughApi(alice, "Alice's secret plan");
    const bob = await newLocalContext(browser);
    await signUpThroughApi(bob, uniqueEmail("bob"));
    const alicePage = await alice.newPage();
    const bobPage = await bob.newPage();
    await withScreenshots("isolation", () => [alicePage, bobPage], async () => {
      await openBoard(alicePage);
      await taskItem(alicePage, "Alice's secret plan").waitFor();
      await openBoard(bobPage);
      await waitUntilLive(bobPage);
      await bobPage.getByText("No tasks yet").waitFor();
      // a change by Alice while Bob watches does not reach Bob either
      await addTaskThroughUi(alicePage, "Alice's second plan");
      const bobTasks = await (await bob.request.get(`${stack.frontendUrl}/api/tasks`)).json();
      assert.deepEqual(bobTasks, []);
      assert.deepEqual(await visibleTaskTitles(bobPage), []);
      assert.equal(await bobPage.getByText("Alice's").count(), 0);
    });
    await alice.close();
    await bob.close();
  });

  test("the assistant panel (offline mode) adds a task that then appears on the board", async () => {
    const context = await newLocalContext(browser);
    await signUpThroughApi(context);
    const page = await context.newPage();
    await withScreenshots("assistant", () => [page], async () => {
      await openBoard(page);
      await page.getByLabel("Message the assistant").fill("add water the plants");
      await page.getByRole("button", { name: "Send" }).click();
      const reply = page.locator('.chat-message[data-role="assistant"]').first();
      await reply.waitFor({ timeout: 15_000 });
      assert.match(await reply.innerText(), /offline/i);
      await reply.getByTestId("chat-action").filter({ hasText: "add_task" }).waitFor();
      await page.locator("ul.task-list > li").filter({ hasText: /water the plants/i }).waitFor();
      const tasks = await (await context.request.get(`${stack.frontendUrl}/api/tasks`)).json();
      assert.ok(tasks.some((task) => /water the plants/i.test(task.title)), JSON.stringify(tasks));
    });
    await context.close();
  });

  test("with a ChatKit key but no reachable ChatKit script, our own assistant panel is used", async () => {
    const frontend = await startFrontend(stack.backendUrl, { logDir: RESULTS_DIR, env: { CHATKIT_DOMAIN_KEY: "domain_pk_e2e" } });
    const context = await newLocalContext(browser);
    const page = await context.newPage();
    const chatkitRequests = [];
    page.on("request", (request) => request.url().includes("chatkit.js") && chatkitRequests.push(request.url()));
    try {
      await withScreenshots("chatkit fallback", () => [page], async () => {
        await context.request.post(`${frontend.url}/api/auth/signup`, { data: { email: uniqueEmail("ck"), password: PASSWORD } });
        await openBoard(page, frontend.url);
        // the run-time key reached the browser: it tried to load the web component (blocked here, like a dead CDN)
        await page.waitForEvent("requestfailed", { predicate: (r) => r.url().includes("chatkit.js"), timeout: 10_000 })
          .catch(() => undefined);
        assert.ok(chatkitRequests.length > 0, "the ChatKit script was requested");
        await page.waitForTimeout(500);
        await page.getByLabel("Message the assistant").waitFor();
        assert.equal(await page.locator("openai-chatkit").count(), 0);
      });
    } finally {
      await context.close();
      await frontend.stop();
    }
  });

  test("with the backend down: GET / answers, a login says service unavailable, a session waits and retries", async () => {
    const backendPort = await freePort();
    const frontend = await startFrontend(`http://127.0.0.1:${backendPort}`, { logDir: RESULTS_DIR });
    const email = await signUpElsewhere(); // in the database the backend will use
    const anonymous = await newLocalContext(browser);
    const withSession = await newLocalContext(browser);
    await withSession.addCookies([{ name: "taskpilot_session", value: "expired-token", url: frontend.url }]);
    const loginPage = await anonymous.newPage();
    const sessionPage = await withSession.newPage();
    let backend;
    try {
      await withScreenshots("backend down", () => [loginPage, sessionPage], async () => {
        const response = await fetch(`${frontend.url}/`);
        assert.equal(response.status, 200);
        const proxied = await fetch(`${frontend.url}/api/tasks`);
        assert.equal(proxied.status, 502);
        assert.match((await proxied.json()).detail, /unavailable/i);

        // No cookie: the form at once; the failed login says the service is unavailable, not "wrong password".
        await loginPage.goto(`${frontend.url}/`);
        await logInThroughUi(loginPage, email);
        const alert = loginPage.locator("#auth-error");
        await alert.filter({ hasText: /service unavailable/i }).waitFor();
        assert.doesNotMatch(await alert.innerText(), /incorrect/i);

        // A session cookie the server could not check: the page waits for the backend and retries.
        await sessionPage.goto(`${frontend.url}/`);
        await sessionPage.getByRole("heading", { name: /service unavailable, retrying/i }).waitFor();

        backend = await startBackend(stack.databaseUrl, { logDir: RESULTS_DIR, port: backendPort });
        await sessionPage.getByRole("heading", { name: "Log in" }).waitFor({ timeout: 15_000 });
        await loginPage.getByRole("button", { name: "Log in" }).click(); // what was typed is still there
        await loginPage.getByRole("heading", { name: "Your tasks" }).waitFor();
      });
    } finally {
      await anonymous.close();
      await withSession.close();
      await frontend.stop();
      await backend?.stop();
    }
  });
});
