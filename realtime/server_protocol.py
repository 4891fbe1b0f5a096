"""The HTTP protocol `maratang serve` runs: uvicorn's, with a deadline on request heads.

uvicorn closes keep-alive connections that sit idle, but waits without end for the head of a
request once its first byte has come (or for the first byte on a new connection): a client
sending a header a minute could hold a socket, and with many sockets a process. Here a
connection that has not sent a whole request head within `MARATANG_HEADER_TIMEOUT` seconds of
opening, or of beginning its next request, is answered 408 and closed.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from realtime.settings import from_environment

TOO_LATE = b"the request head did not arrive in time"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(TOO_LATE), TOO_LATE)
)


@cache
def head_timeout() -> float:
    """`MARATANG_HEADER_TIMEOUT`, as `serve` handed it to its workers."""
    return from_environment().header_timeout


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()

    def on_headers_complete(self) -> None:
        self._head_arrived()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(head_timeout(), self._head_late)

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()
