"""A scripted OpenAI-compatible Chat Completions server on 127.0.0.1 for assistant tests.

Tests queue responses; each POST /v1/chat/completions takes the next one and records the request body:
    fake = FakeOpenAI().start()
    fake.queue(tool_call("add_task", {"title": "buy milk"}), text("Added it."))
    ... OPENAI_BASE_URL = fake.base_url ...
A queued item is a reply dict (see the helpers), an `HTTPFailure`, or a callable taking the request body
(to build a reply from earlier tool results). With an empty queue the server answers 500, so an
unexpected extra model call fails the test loudly.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

_ids = count(1)


@dataclass
class HTTPFailure:
    status: int
    message: str = "scripted failure"
    delay_seconds: float = 0.0


@dataclass
class Delayed:
    reply: Any
    delay_seconds: float


def text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> dict[str, Any]:
    """One assistant message with several tool calls; a str argument is sent verbatim (malformed JSON)."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            for name, args in calls
        ],
    }


def tool_call(name: str, args: dict[str, Any] | str) -> dict[str, Any]:
    return tool_calls((name, args))


def last_tool_result(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON content of the most recent tool message in a request body."""
    for message in reversed(body["messages"]):
        if message["role"] == "tool":
            return json.loads(message["content"])
    raise AssertionError("no tool message in the request")


def _completion(message: dict[str, Any], model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeOpenAI:
    def __init__(self, api_key: str = "sk-test-fake") -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.authorization_headers: list[str | None] = []
        self._script: deque[Any] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, *replies: Any) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        return len(self._script)

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    fake.authorization_headers.append(self.headers.get("Authorization"))
                    item = fake._script.popleft() if fake._script else HTTPFailure(500, "fake: nothing scripted")
                if not self.path.endswith("/chat/completions"):
                    item = HTTPFailure(404, f"fake: unknown path {self.path}")
                if isinstance(item, Delayed):
                    time.sleep(item.delay_seconds)
                    item = item.reply
                if callable(item):
                    item = item(body)
                if isinstance(item, HTTPFailure):
                    time.sleep(item.delay_seconds)
                    error = {"error": {"message": item.message, "type": "fake_error", "code": str(item.status)}}
                    self._send(item.status, error)
                    return
                self._send(200, _completion(item, body.get("model", "fake-model")))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = ["Delayed", "FakeOpenAI", "HTTPFailure", "last_tool_result", "text", "tool_call", "tool_calls"]
