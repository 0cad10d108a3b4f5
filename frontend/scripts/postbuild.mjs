// `next build` leaves .next/standalone without static assets; copy them so
// `node .next/standalone/server.js` serves the whole app on its own. Also puts the edge guard
// (scripts/edge-guard.mjs) in front of Next's server, and the client-address preload
// (server/peer-address.mjs) next to server.js: `node --import ./peer-address.mjs server.js`.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const standalone = join(root, ".next", "standalone");
if (!existsSync(join(standalone, "server.js"))) {
  console.error("postbuild: .next/standalone/server.js is missing (is output: 'standalone' set?)");
  process.exit(1);
}
for (const [from, to] of [
  [join(root, ".next", "static"), join(standalone, ".next", "static")],
  [join(root, "public"), join(standalone, "public")],
  [join(root, "server", "peer-address.mjs"), join(standalone, "peer-address.mjs")],
]) {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
console.log("postbuild: copied .next/static, public and peer-address.mjs into .next/standalone");

const GUARD_IMPORT = 'import { installEdgeGuard } from "./edge-guard.mjs"; // added by scripts/postbuild.mjs\n';
cpSync(join(root, "scripts", "edge-guard.mjs"), join(standalone, "edge-guard.mjs"));
const serverJs = join(standalone, "server.js");
const server = readFileSync(serverJs, "utf8");
if (!server.includes(GUARD_IMPORT)) {
  // Module imports run before the body, which then installs the guard before it starts Next.
  writeFileSync(serverJs, `${GUARD_IMPORT}installEdgeGuard();\n${server}`);
}
console.log("postbuild: server.js refuses TRACE and malformed /api/ paths first (edge-guard.mjs)");
