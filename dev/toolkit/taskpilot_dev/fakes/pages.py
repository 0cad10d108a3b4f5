"""Small real HTTP servers standing in for a web app in checks' tests: a page that answers, a URL
nothing listens on."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from taskpilot_dev.postgres import free_port


@contextlib.contextmanager
def http_server(handler_class):
    """Serve handler_class on 127.0.0.1 (free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PageHandler(BaseHTTPRequestHandler):
    """Answers GET / with a small HTML page (stands in for `next dev` where no frontend is built)."""

    status = 200

    def do_GET(self):
        body = b"<!doctype html><title>TaskPilot AI</title>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def closed_port_url() -> str:
    """A URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"
