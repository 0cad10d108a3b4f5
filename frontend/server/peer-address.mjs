// Preloaded into the Next.js server process (`node --import ./peer-address.mjs server.js`: the
// image, the dev server script and the test harness all start it this way).
//
// Next.js keeps an X-Forwarded-For header a client sent and fills one in only when it is missing,
// so the /api route cannot tell the socket peer from a forged header. This records the peer of every
// request in its own header, replacing any copy a client sent, and announces the header's name on
// globalThis: src/lib/clientAddress.ts believes the header only when that announcement is there.
import http from "node:http";

const PEER_HEADER = "x-taskpilot-peer-address";
const createServer = http.createServer;

http.createServer = function createServerRecordingPeers(...args) {
  const server = createServer.apply(this, args);
  server.prependListener("request", (request) => {
    request.headers[PEER_HEADER] = request.socket.remoteAddress ?? "";
  });
  return server;
};

globalThis[Symbol.for("taskpilot.peerAddressHeader")] = PEER_HEADER;
