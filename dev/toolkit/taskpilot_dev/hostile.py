"""Hostile HTTP clients for the edge tests and dev/bench/edge_bench.py: oversized bodies, slow headers,
slow bodies, and a /health prober that measures what everyone else sees meanwhile.

Raw sockets (asyncio streams), because an HTTP library would refuse to send what these send. Every
target is 127.0.0.1; every client stops after its byte count or its time limit.

CLI (the benchmark runs the attackers in their own process, so they do not steal the prober's loop):
    python -m taskpilot_dev.hostile body  --port P --path /api/auth/login --megabytes 50 --clients 4 [--chunked]
    python -m taskpilot_dev.hostile slow  --port P --kind headers|body --clients 200 --seconds 20
Each prints one JSON line with what the clients saw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from .loadgen import Connection, build_request

CHUNK_BYTES = 64 * 1024


@dataclass
class Answer:
    """What one hostile client got: the status (None: the connection closed without an answer) and
    when, counted from its first byte; `bytes_sent` of the body (or the trickled headers)."""

    status: int | None
    seconds: float
    bytes_sent: int


async def _connect(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def _send(sock: socket.socket, data: bytes) -> bool:
    """False once the server closed the connection (its answer may still be waiting to be read)."""
    try:
        await asyncio.get_running_loop().sock_sendall(sock, data)
    except OSError:
        return False
    return True


async def _read_status(sock: socket.socket) -> int | None:
    """The status of the server's answer, or None if it closed without one. Raw recv, not a stream reader:
    a write that failed because the server closed early must not hide the answer it sent before closing."""
    loop = asyncio.get_running_loop()
    head = b""
    while b"\r\n" not in head:
        try:
            data = await loop.sock_recv(sock, 4096)
        except OSError:
            data = b""
        if not data:
            break
        head += data
    return int(head[9:12]) if head.startswith(b"HTTP/1.1 ") and len(head) >= 12 else None


def _json_array(size: int) -> Iterator[bytes]:
    """A valid JSON array of exactly `size` (>= 3) bytes, in chunks: `[1,1,...,1]`. Valid, so a server that
    parses it before checking its size pays the whole parse (as an attacker's would make it)."""
    piece = b"1," * (CHUNK_BYTES // 2)
    yield b"["
    remaining = size - 3  # "[" now, "1]" at the end
    while remaining > 0:
        chunk = piece[: remaining - remaining % 2] if remaining < len(piece) else piece
        if not chunk:
            chunk = b" "
        yield chunk
        remaining -= len(chunk)
    yield b"1]"


async def _until_answered(sock: socket.socket, sender: asyncio.Task[None], timeout: float) -> int | None:
    try:
        return await asyncio.wait_for(_read_status(sock), timeout)
    except TimeoutError:
        return None
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        sock.close()


async def oversized_body(
    port: int, path: str, size: int, *, chunked: bool, timeout: float = 60.0, headers: dict[str, str] | None = None
) -> Answer:
    """POST `size` bytes of a JSON array to `path`, with a Content-Length or chunked; the answer and when it came."""
    sock = await _connect(port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}{framing}\r\n\r\n"
    started = time.perf_counter()
    sent = 0

    async def send_body() -> None:
        nonlocal sent
        if not await _send(sock, head.encode()):
            return
        for chunk in _json_array(size):
            if not await _send(sock, b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk):
                return
            sent += len(chunk)
        if chunked:
            await _send(sock, b"0\r\n\r\n")

    status = await _until_answered(sock, asyncio.create_task(send_body()), timeout)
    return Answer(status, time.perf_counter() - started, sent)


async def trickle(
    port: int, kind: str, *, interval: float, give_up_after: float, path: str = "/api/auth/login"
) -> Answer:
    """A client that sends one byte every `interval` seconds: of its headers ("headers"), or of a declared
    1 KiB body ("body"). Returns when the server answers or closes (`seconds` then says when), or after
    `give_up_after` seconds (`status` None, `seconds` infinite: it was never cut off)."""
    sock = await _connect(port)
    if kind == "headers":
        opening = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    else:
        opening = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
        opening += b"Content-Length: 1024\r\n\r\n"
    started = time.perf_counter()
    sent = 0

    async def drip() -> None:
        nonlocal sent
        if not await _send(sock, opening):
            return
        while True:
            await asyncio.sleep(interval)
            if not await _send(sock, b"a" if kind == "headers" else b" "):
                return
            sent += 1

    dripper = asyncio.create_task(drip())
    try:
        status = await asyncio.wait_for(_read_status(sock), give_up_after)
        seconds = time.perf_counter() - started
    except TimeoutError:
        status, seconds = None, float("inf")
    finally:
        dripper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dripper
        sock.close()
    return Answer(status, seconds, sent)


async def oversized_headers(port: int, size: int, timeout: float = 30.0) -> Answer:
    """One request whose headers are `size` bytes (a single long header); the answer and when it came."""
    sock = await _connect(port)
    started = time.perf_counter()
    sent = 0

    async def send_headers() -> None:
        nonlocal sent
        if not await _send(sock, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "):
            return
        while sent < size:
            piece = min(CHUNK_BYTES, size - sent)
            if not await _send(sock, b"a" * piece):
                return
            sent += piece
        await _send(sock, b"\r\n\r\n")

    status = await _until_answered(sock, asyncio.create_task(send_headers()), timeout)
    return Answer(status, time.perf_counter() - started, sent)


class HealthProbe:
    """GET /health every `interval` seconds over one keep-alive connection, recording each latency (ms)."""

    def __init__(self, port: int, interval: float = 0.02) -> None:
        self.port, self.interval = port, interval
        self.latencies_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HealthProbe:
        connection = await Connection.open(self.port)
        await connection.request(build_request("GET", "/health", {}))  # warm: connect outside the figures

        async def run() -> None:
            try:
                while True:
                    started = time.perf_counter()
                    await connection.request(build_request("GET", "/health", {}))
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(self.interval)
            finally:
                connection.close()

        self._task = asyncio.create_task(run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def summary(self) -> dict[str, float | int]:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return {"requests": 0}
        return {
            "requests": len(ordered),
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2),
        }


async def _body_flood(
    port: int, path: str, megabytes: float, clients: int, chunked: bool, timeout: float
) -> list[Answer]:
    size = int(megabytes * 1024 * 1024)
    return list(
        await asyncio.gather(
            *(oversized_body(port, path, size, chunked=chunked, timeout=timeout) for _ in range(clients))
        )
    )


async def _slow_flood(port: int, kind: str, clients: int, seconds: float, interval: float) -> list[Answer]:
    return list(
        await asyncio.gather(*(trickle(port, kind, interval=interval, give_up_after=seconds) for _ in range(clients)))
    )


def summarize(answers: list[Answer]) -> dict[str, object]:
    statuses: dict[str, int] = {}
    for answer in answers:
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
    finite = [answer.seconds for answer in answers if answer.seconds != float("inf")]
    return {
        "clients": len(answers),
        "statuses": statuses,
        "held_to_the_end": len(answers) - len(finite),
        "max_seconds_to_answer": round(max(finite), 2) if finite else None,
        "bytes_sent_max": max((answer.bytes_sent for answer in answers), default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("attack", choices=("body", "slow"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/api/auth/login")
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--chunked", action="store_true")
    parser.add_argument("--kind", choices=("headers", "body"), default="headers")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=180.0, help="body: give up waiting for an answer after this")
    args = parser.parse_args()
    if args.attack == "body":
        answers = asyncio.run(
            _body_flood(args.port, args.path, args.megabytes, args.clients, args.chunked, args.timeout)
        )
    else:
        answers = asyncio.run(_slow_flood(args.port, args.kind, args.clients, args.seconds, args.interval))
    print(json.dumps({"summary": summarize(answers), "answers": [asdict(a) for a in answers[:3]]}), flush=True)


if __name__ == "__main__":
    main()
