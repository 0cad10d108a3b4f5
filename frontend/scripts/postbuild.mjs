// `next build` leaves .next/standalone without static assets; copy them so
// `node .next/standalone/server.js` serves the whole app on its own. The client-address preload
// (server/peer-address.mjs) goes next to server.js: `node --import ./peer-address.mjs server.js`.
import { cpSync, existsSync, rmSync } from "node:fs";
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
