"""A scripted HTTP/1.1 server on loopback, in the test's own loop: each request it reads is
answered with the `Reply` a handler gives, written in the parts the test chose, each after
its delay. It records the requests, the connections it accepted, and whether the client went
away before a reply was over, which is what a model server sees when a narration is dropped.

It is the model server of the unit tests: what `httpx.MockTransport` was for the httpx
client, but over a real socket, so the reader's own HTTP/1.1 (chunked bodies, keep-alive,
closes) is what is tested.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


@dataclass
class Reply:
    """Bytes written as they are, `parts[i]` after `delays[i]` seconds (`inf`: never), then
    the connection is closed (`close`) or kept for the next request."""

    parts: list[bytes]
    delays: list[float] = field(default_factory=list)
    close: bool = False


def framed(part: bytes) -> bytes:
    """`part` as one chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(part), part)


def sse(parts: Iterable[bytes | str], delays: Iterable[float] = (), end: bool = True) -> Reply:
    """A 200 event stream, each part one chunk; `end=False` closes the connection where the
    body should have ended."""
    chunks = [framed(p.encode() if isinstance(p, str) else p) for p in parts]
    return Reply(
        [SSE_HEAD + chunks[0], *chunks[1:], *([b"0\r\n\r\n"] if end else [])],
        list(delays),
        close=not end,
    )


def answer(status: int, body: bytes = b"", close: bool = False) -> Reply:
    """A whole answer with a `Content-Length` body, head and body in one write."""
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
    return Reply([f"{head}content-length: {len(body)}\r\n\r\n".encode() + body], close=close)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Served:
    """One reply as it went: `left` is set when the client closed before it was over."""

    request: Request
    left: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[Request], Reply]


class ScriptedServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.served: list[Served] = []
        self.connections = 0
        self.base_url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1/chat/completions"

    @property
    def requests(self) -> list[Request]:
        return [s.request for s in self.served]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # each connection's task then ends by itself
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while (request := await _read_request(reader)) is not None:
                served = Served(request)
                self.served.append(served)
                reply = self.handler(request)
                if not await _write(reply, reader, writer, served) or reply.close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    method, path, _ = line.split(" ")
    headers = {}
    for header in lines:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


async def _write(
    reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, served: Served
) -> bool:
    """Write the reply, watching (without reading) for the client to leave; False when it
    left before the reply was over."""
    for i, part in enumerate(reply.parts):
        delay = reply.delays[i] if i < len(reply.delays) else 0.0
        if (delay and not await _wait(reader, delay)) or _gone(reader):
            served.left.set()
            return False
        writer.write(part)
        await writer.drain()
    return True


def _gone(reader: asyncio.StreamReader) -> bool:
    return reader.at_eof() or reader.exception() is not None


async def _wait(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait `seconds` (`inf`: for ever); False as soon as the client leaves."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        if _gone(reader):
            return False
        await asyncio.sleep(min(0.005, left))
    return True


@contextlib.asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(handler)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
