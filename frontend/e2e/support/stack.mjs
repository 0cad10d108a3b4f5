// Starts and stops what the browser tests and the benchmark run against: a fresh PostgreSQL database
// (inside the server named by TEST_DATABASE_URL), the real backend (uvicorn) and the production
// frontend build (node .next/standalone/server.js), all on 127.0.0.1.
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const FRONTEND_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const REPO_ROOT = resolve(FRONTEND_DIR, "..");
export const RESULTS_DIR = join(FRONTEND_DIR, "test-results");
const STANDALONE_SERVER = join(FRONTEND_DIR, ".next", "standalone", "server.js");
const JWT_SECRET = "e2e-only-jwt-secret-that-is-long-enough-0123456789";
const STARTUP_TIMEOUT_MS = 45_000;
// The backend reads these; a developer's shell must not leak them into the test server.
const BACKEND_ENV_VARS = [
  "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DATABASE_URL", "JWT_SECRET", "JWT_EXPIRES_MINUTES",
  "APP_ENV", "LOG_LEVEL", "CORS_ORIGINS", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL",
];

export function pythonExecutable() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const venv = join(REPO_ROOT, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

export function requireAdminDatabaseUrl() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      "TEST_DATABASE_URL is not set. The browser tests need a PostgreSQL superuser URL, e.g. " +
        "TEST_DATABASE_URL=$(python dev/testdb.py start --dir /tmp/pg) npm run e2e — or run ./dev/test.sh, which provides one.",
    );
  }
  return url;
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function runPython(code, args) {
  return execFileSync(pythonExecutable(), ["-c", code, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "dev") },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** A fresh database with every migration applied (the shared Python harness does the work). */
export function createMigratedDatabase(adminUrl) {
  return runPython(
    "import sys, harness\nurl = harness.create_database(sys.argv[1])\nharness.migrate(url)\nprint(url)",
    [adminUrl],
  );
}

export function dropDatabase(adminUrl, url) {
  runPython("import sys, harness\nharness.drop_database(sys.argv[1], sys.argv[2])", [adminUrl, url]);
}

async function waitForOk(url, child, name, logPath) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${logPath}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${name} did not answer ${url} within ${STARTUP_TIMEOUT_MS} ms; see ${logPath}`);
}

function startProcess(name, command, args, options) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const logPath = join(RESULTS_DIR, `${name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return { child, logPath };
}

async function stopProcess(child, timeoutMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function startBackend(databaseUrl, { name = "backend", port } = {}) {
  port ??= await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !BACKEND_ENV_VARS.includes(key)));
  Object.assign(env, {
    DATABASE_URL: databaseUrl,
    JWT_SECRET,
    APP_ENV: "dev",
    LOG_LEVEL: "WARNING",
    OPENAI_API_KEY: "", // offline assistant
    PYTHONUNBUFFERED: "1",
  });
  const { child, logPath } = startProcess(
    name,
    pythonExecutable(),
    ["-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", String(port), "--timeout-graceful-shutdown", "5"],
    { cwd: join(REPO_ROOT, "backend"), env },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}/health`, child, name, logPath);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, stop: () => stopProcess(child) };
}

export async function startFrontend(backendUrl, { name = "frontend", env: extraEnv = {} } = {}) {
  if (!existsSync(STANDALONE_SERVER)) {
    throw new Error(`${STANDALONE_SERVER} is missing: run \`npm run build\` in frontend/ first`);
  }
  const port = await freePort();
  const env = { ...process.env };
  delete env.CHATKIT_DOMAIN_KEY;
  Object.assign(env, {
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    BACKEND_URL: backendUrl,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    ...extraEnv,
  });
  const { child, logPath } = startProcess(name, process.execPath, [STANDALONE_SERVER], {
    cwd: dirname(STANDALONE_SERVER),
    env,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}/`, child, name, logPath);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, stop: () => stopProcess(child) };
}

/** Database + backend + frontend; `stop()` tears all of it down (safe to call after a partial start). */
export async function startStack() {
  const adminUrl = requireAdminDatabaseUrl();
  const stops = [];
  const stop = async () => {
    for (const fn of stops.reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error("teardown:", error);
      }
    }
    stops.length = 0;
  };
  try {
    const databaseUrl = createMigratedDatabase(adminUrl);
    stops.push(() => dropDatabase(adminUrl, databaseUrl));
    const backend = await startBackend(databaseUrl);
    stops.push(backend.stop);
    const frontend = await startFrontend(backend.url);
    stops.push(frontend.stop);
    return { adminUrl, databaseUrl, backendUrl: backend.url, frontendUrl: frontend.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
