"""A TCP proxy the test controls, in front of a real server: `cut()` drops every connection
and refuses new ones (the server looks down), `restore()` lets them through again, `stall()`
keeps the open connections open but carries nothing more on them (a dead path neither end sees),
`hold_answers_to(marker)` carries a request on but holds back the server's answers from then on
(a request that lands while its answer is lost, once the proxy is cut), `fail_first(start)`
answers the next HTTP request whose head starts with `start` with a 502, as nginx does when
its upstream is gone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable


class Proxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._flows: set[asyncio.Event] = set()
        self._up = False
        self._marker: bytes | None = None
        self._failing: set[bytes] = set()
        self.failed = 0
        """HTTP requests answered 502 by `fail_first`."""

    async def start(self) -> None:
        self._up = True
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Close the listening socket (new connections are refused) and every open pipe,
        including one still being set up when the cut came."""
        self._up = False
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()
        for flow in self._flows:
            flow.set()  # stalled pumps go on, into the aborted pipes, and end

    async def stall(self) -> None:
        """Stop carrying bytes on the open connections without closing them; new ones flow."""
        for flow in self._flows:
            flow.clear()

    async def hold_answers_to(self, marker: bytes) -> None:
        """On a connection that carries a request holding `marker`, carry it to the server
        but no answer back from then on."""
        self._marker = marker

    def fail_first(self, start: bytes) -> None:
        """Answer the next HTTP request whose head starts with `start` with `502 Bad Gateway`,
        and close its connection. (Until it comes, each connection's request head is read
        before anything is carried: for HTTP only.)"""
        self._failing.add(start)

    async def restore(self) -> None:
        self._marker = None
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b""
        if self._failing:
            head = await reader.readuntil(b"\r\n\r\n")
            if start := next((s for s in self._failing if head.startswith(s)), None):
                self._failing.discard(start)
                self.failed += 1
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                writer.close()
                return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if not self._up:  # accepted just before the cut
            up_writer.transport.abort()
            writer.transport.abort()
            return
        up_writer.write(head)
        self._pipes.update((writer, up_writer))
        flow, answers = asyncio.Event(), asyncio.Event()
        flow.set()
        answers.set()
        self._flows.update((flow, answers))

        def seen(data: bytes) -> None:
            if self._marker is not None and self._marker in data:
                answers.clear()

        await asyncio.gather(
            _pump(reader, up_writer, flow, seen),
            _pump(up_reader, writer, answers),
            return_exceptions=True,
        )
        self._pipes.difference_update((writer, up_writer))
        self._flows.difference_update((flow, answers))


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    flow: asyncio.Event,
    seen: Callable[[bytes], None] = lambda data: None,
) -> None:
    try:
        while data := await reader.read(65536):
            await flow.wait()
            writer.write(data)
            seen(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            writer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
