"""One HTTP/1.1 connection to a model server, on a plain asyncio protocol, and the response
it is reading (for `llm/http_client.py`, which pools them).

Reading a streamed answer costs one wake-up of the reading task per piece the socket delivers:
the bytes are unframed (`llm/http1.py`) in the protocol's callback, and a read's deadline is one
timer per response that re-arms itself only when it fires early, not one timer per read.

Failures are `HTTPFailure`s: `ConnectFailed` (no connection, or no answer on it: nothing was
streamed) and `ReadFailed` (the connection broke in the middle of a body). A response left
before its body ended drops its connection, which is how the server learns the client went
away (vLLM then aborts the generation); one read to its end goes back to the pool.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, cast

from llm.http1 import BadResponse, Head, ResponseReader

HIGH_WATER = 256 * 1024
"""Unread body bytes above which the socket is no longer read until the reader catches up."""
_EARLY = 0.001
"""A read's timer that fires within this of its deadline counts as on time (uvloop's timers
have a resolution of one millisecond)."""


class HTTPFailure(Exception):
    """A request that failed below HTTP: the reason is in the message."""


class ConnectFailed(HTTPFailure):
    """No connection, or no answer on it: nothing of a response was read."""


class ConnectTimeout(ConnectFailed):
    """No connection within the connect time."""


class ReadFailed(HTTPFailure):
    """The connection broke (or the server broke HTTP) while a body was being read."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def authority(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class Pool(Protocol):
    """What a connection tells the pool that made it."""

    def free(self) -> None:
        """A request is over: one more may start."""

    def park(self, connection: Connection) -> None:
        """The connection can carry the next request."""

    def forget(self, connection: Connection) -> None:
        """The connection is closed."""


class Response:
    """The answer to one request, its head read. Read the body with `read`; end with `close`."""

    def __init__(self, connection: Connection, head: Head) -> None:
        self.status = head.status
        self.headers = head.headers
        self._connection = connection
        self._loop = connection.loop
        self._body = b""
        """Arrived, not yet read (mostly one piece: joining as they come is the cheapest)."""
        self._ended = False
        self._failure: ReadFailed | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    async def read(self, deadline: float | None = None) -> bytes:
        """The body bytes that arrived since the last read, waiting for some if none have;
        `b""` once the body has ended. Raises `TimeoutError` when nothing came by `deadline`
        (loop time) and `ReadFailed` when the connection broke."""
        while not self._body:
            if self._failure is not None:
                raise self._failure
            if self._ended or self._closed:
                return b""
            if deadline is not None and self._loop.time() + _EARLY >= deadline:
                raise TimeoutError
            self._arm(deadline)
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        data, self._body = self._body, b""
        if len(data) > HIGH_WATER:
            self._connection.resume()
        return data

    def close(self) -> None:
        """Done with the response: its connection goes back to the pool if the body was
        read to its end, and is dropped otherwise (the server sees the client go away)."""
        if self._closed:
            return
        self._closed = True
        self._body = b""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._connection.done(self._ended and self._failure is None)

    def _arm(self, deadline: float | None) -> None:
        """One timer per response: moved earlier when the deadline is, and when it fires
        before a later deadline, set again for that one."""
        self._deadline = deadline
        if deadline is None:
            return
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._waiter is None:
            return
        if self._loop.time() + _EARLY >= deadline:
            self._wake()
        else:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Called by the connection -----------------------------------------------------------

    def arrived(self, data: bytes) -> bool:
        """Body bytes came; False when the reader is behind and the socket should pause."""
        if self._closed:
            return True
        body = self._body = self._body + data if self._body else data
        self._wake()
        return len(body) <= HIGH_WATER

    def ended(self) -> None:
        self._ended = True
        self._wake()

    def failed(self, failure: ReadFailed) -> None:
        self._failure = failure
        self._wake()


class Connection(asyncio.Protocol):
    """One connection to an origin: at most one request at a time."""

    def __init__(self, pool: Pool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.reader: ResponseReader | None = None
        self.response: Response | None = None
        self.head: asyncio.Future[Head] | None = None
        self.lost = False
        self.gone: asyncio.Future[None] = self.loop.create_future()
        """Done once the connection is closed."""
        self.idle_since = 0.0
        self._pending: list[bytes] = []
        """Body bytes that came before `send` made the response (with the head, say)."""
        self._failure: ReadFailed | None = None

    # The caller's side ---------------------------------------------------------------------

    async def send(self, method: str, request: bytes) -> Response:
        """Write `request` and wait for the response's head. Cancelled (the caller's own
        time ran out), the connection is dropped."""
        assert self.transport is not None
        self.reader = ResponseReader(method)
        self.response, self._failure = None, None
        self.head = self.loop.create_future()
        self.transport.write(request)
        try:
            head = await self.head
        except BaseException:
            self.drop()
            raise
        response = self.response = Response(self, head)
        if self._pending:
            response.arrived(b"".join(self._pending))
            self._pending.clear()
        if self._failure is not None:
            response.failed(self._failure)
        self.settle()
        return response

    def done(self, read_to_end: bool) -> None:
        """The caller is done with the response: keep the connection if it can carry the
        next request."""
        self.pool.free()
        reader = self.reader
        if read_to_end and reader is not None and reader.keep_alive and not self.lost:
            self.reader = self.response = self.head = None
            self.pool.park(self)
        else:
            self.drop()

    def drop(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def resume(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def settle(self) -> None:
        """Tell the response its body has ended, if it has (it may have come with the head)."""
        reader, response = self.reader, self.response
        if reader is not None and response is not None and reader.complete:
            response.ended()

    # The protocol's side -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        if reader is None:  # nothing was asked: a server that talks out of turn
            self.drop()
            return
        try:
            body = reader.feed(data)
        except BadResponse as exc:
            self._broken(f"{exc}")
            return
        response = self.response
        if response is None:  # `send` makes the response from the head, then settles it
            if body:
                self._pending.append(body)
            head = self.head
            if reader.head is not None and head is not None and not head.done():
                head.set_result(reader.head)
            return
        if body and not response.arrived(body) and self.transport is not None:
            self.transport.pause_reading()
        if reader.complete:
            response.ended()

    def eof_received(self) -> bool:
        self.lost = True  # returning False closes the transport
        reader = self.reader
        if reader is not None:
            try:
                reader.eof()
            except BadResponse as exc:
                self._broken(f"{exc}")
                return False
            self.settle()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.pool.forget(self)
        if not self.gone.done():
            self.gone.set_result(None)
        reader = self.reader
        if reader is not None and not reader.complete:
            self._broken(f"the connection closed ({exc or 'by the server'})")

    def _broken(self, why: str) -> None:
        head = self.head
        if head is not None and not head.done():
            head.set_exception(ConnectFailed(why))
        elif self.response is not None:
            self.response.failed(ReadFailed(why))
        else:
            self._failure = ReadFailed(why)  # the head came, `send` has yet to take it
        self.drop()
