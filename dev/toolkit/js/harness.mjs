// The Node door to the one process harness (taskpilot_dev.harness): Node code starts the stack, a
// backend or a frontend through `python -m taskpilot_dev.harness …`, so the servers' environment and
// readiness checks exist once, in Python. Each call resolves when the harness prints its JSON line;
// stop() closes the harness's stdin and waits for it to tear everything down.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const STOP_TIMEOUT_MS = 30_000;

/** PYTHON, else the repo's .venv (where ./dev/test.sh and ./setup.sh install the toolkit), else python3. */
export function pythonExecutable() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const venv = join(REPO_ROOT, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
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

function runHarness(args, { logDir } = {}) {
  const argv = ["-m", "taskpilot_dev.harness", ...args, ...(logDir ? ["--log-dir", logDir] : [])];
  const child = spawn(pythonExecutable(), argv, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise((done) => child.once("exit", done));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolveStarted, reject) => {
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline >= 0) resolveStarted({ info: JSON.parse(stdout.slice(0, newline)), stop });
    });
    child.once("exit", (code) => reject(new Error(`python -m taskpilot_dev.harness ${args.join(" ")} exited with ${code}:\n${stderr}`)));
    child.once("error", reject);
  });
}

/** Fresh migrated database + backend + production frontend; `stop()` tears all of it down. */
export async function startStack(options) {
  const { info, stop } = await runHarness(["stack"], options);
  return {
    adminUrl: info.admin_url,
    databaseUrl: info.database_url,
    backendUrl: info.backend_urls[0],
    frontendUrl: info.frontend_url,
    stop,
  };
}

export async function startBackend(databaseUrl, { port, logDir } = {}) {
  const args = ["backend", "--database-url", databaseUrl, ...(port ? ["--port", String(port)] : [])];
  const { info, stop } = await runHarness(args, { logDir });
  return { url: info.url, stop };
}

export async function startFrontend(backendUrl, { env = {}, logDir } = {}) {
  const extra = Object.entries(env).flatMap(([name, value]) => ["--env", `${name}=${value}`]);
  const { info, stop } = await runHarness(["frontend", "--backend-url", backendUrl, ...extra], { logDir });
  return { url: info.url, stop };
}
