"""What ASGI cannot say about a socket: how many bytes it still holds unsent, and how to cut
it when even a close frame cannot leave.

ASGI's `websocket.close` waits, like every send, until the socket drains; a client that never
reads never lets it. The server's transport can abort at once. ASGI does not hand it out, so
`TransportAccess` (the outermost middleware) takes it from the server's `send` callable, which
is a method of its connection protocol (uvicorn's; `maratang serve` always runs it). This is
the one place that reaches under ASGI; `tests/realtime/test_slow_sockets.py` proves it against
the server the product runs.
"""

from __future__ import annotations

import logging
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("maratang.transport")

SCOPE_KEY = "maratang.transport"


class Transport(Protocol):
    """The parts of an asyncio transport the hub uses."""

    def get_write_buffer_size(self) -> int: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool: ...


class TransportAccess:
    """Puts each WebSocket's transport in its scope (under `SCOPE_KEY`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if all(hasattr(transport, name) for name in ("abort", "get_write_buffer_size")):
                scope[SCOPE_KEY] = transport
            elif not self._warned:
                self._warned = True
                log.warning(
                    "this ASGI server hides its transports: a socket that stops reading is "
                    "closed only when its close frame can leave (run it with maratang serve)"
                )
        await self.app(scope, receive, send)


class Wire:
    """One socket's transport, or nothing when the server hid it."""

    def __init__(self, transport: Transport | None) -> None:
        self._transport = transport

    @classmethod
    def of(cls, scope: Scope) -> Wire:
        transport = scope.get(SCOPE_KEY)
        return cls(transport)

    def unsent(self) -> int:
        """Bytes handed to the socket that the peer has not taken yet (beyond the kernel's)."""
        return self._transport.get_write_buffer_size() if self._transport is not None else 0

    def abort(self) -> None:
        """Drop the connection now, unsent bytes and all (the peer sees a reset)."""
        if self._transport is not None:
            self._transport.abort()
