"""A Service's virtual IP, as kube-proxy gives it: runs inside a container that carries the Service's
DNS names, listens on the Service ports and forwards each new TCP connection to one ready endpoint.

Like kube-proxy (iptables mode): the endpoint is picked at random per connection; a connection keeps
its endpoint after that endpoint leaves the list (conntrack); with no endpoints a connection is
refused. The runner replaces the endpoint list through the control port (JSON on one connection).

    python service_proxy.py CONTROL_PORT PORT[,PORT...]
Standard library only: the container image is a bare python base.
"""

import asyncio
import json
import random
import sys
from functools import partial

ENDPOINTS: dict = {}  # service port (str) -> ["host:port", ...]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _forward(port: int, client_r, client_w) -> None:
    choices = ENDPOINTS.get(str(port)) or []
    if not choices:
        client_w.close()
        return
    host, target = random.choice(choices).rsplit(":", 1)  # noqa: S311  # load spreading, as kube-proxy does
    try:
        up_r, up_w = await asyncio.open_connection(host, int(target))
    except OSError:
        client_w.close()
        return
    await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
    client_w.close()
    up_w.close()


async def _control(reader, writer) -> None:
    endpoints = json.loads(await reader.read())
    # Swapped with no await in between: a connection arriving meanwhile sees the old list or the new
    # one, never an empty one (which would refuse it, as no Service does during an endpoint change).
    ENDPOINTS.clear()
    ENDPOINTS.update(endpoints)
    writer.write(b"ok")
    await writer.drain()
    writer.close()


async def main(control_port: int, ports: list[int]) -> None:
    # Inside its own container: the other containers reach it over the Docker network, as a Service.
    servers = [await asyncio.start_server(_control, "0.0.0.0", control_port)]  # noqa: S104
    for port in ports:
        servers.append(await asyncio.start_server(partial(_forward, port), "0.0.0.0", port))  # noqa: S104
    print("service proxy listening on", ports, flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), [int(p) for p in sys.argv[2].split(",")]))
