"""A minimal keep-alive HTTP/1.1 load client for the benchmarks and load tests.

Raw asyncio streams instead of an HTTP library: at thousands of requests per second on two cores
the client's own parsing would otherwise cost as much as the server under test.
"""

from __future__ import annotations

import asyncio
import ipaddress

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class Connection:
    """One keep-alive HTTP/1.1 connection with the minimum parsing needed (content-length or chunked bodies)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int = 0, source: str | None = None
    ) -> None:
        self.reader, self.writer = reader, writer
        self.port, self.source = port, source

    @classmethod
    async def open(cls, port: int, source: str | None = None) -> Connection:
        """Connect to 127.0.0.1:port, from the loopback address `source` when given (a client of its own)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0) if source else None)
        return cls(reader, writer, port, source)

    async def request(self, raw: bytes) -> int:
        """Send one request built by `build_request`; returns the status once the body is read.

        A keep-alive connection the server closed while it sat idle (Node closes them after 5 s) is
        reopened once, from the same source address, and the request sent again."""
        try:
            return await self._exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as error:
            if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                raise  # the server answered part of it: not an idle close
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, local_addr=(self.source, 0) if self.source else None
            )
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:  # what a streaming relay (the frontend's /api proxy) sends
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")  # no trailers are ever sent
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def loopback_addresses(first: str, count: int) -> list[str]:
    """`count` consecutive addresses from `first`, inside 127.0.0.0/8 (each a distinct client on this host)."""
    start = ipaddress.IPv4Address(first)
    addresses = [str(start + offset) for offset in range(count)]
    if not all(ipaddress.IPv4Address(address) in LOOPBACK for address in addresses):
        raise ValueError(f"{count} addresses from {first} leave {LOOPBACK}")
    return addresses


def build_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """The bytes of one request to 127.0.0.1 (JSON body for the writing methods)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PATCH", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
