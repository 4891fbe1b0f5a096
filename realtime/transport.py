"""What ASGI cannot say about a socket: how many bytes it still holds unsent, and how to cut
it when even a close frame cannot leave; and the server's own `send`, under Starlette's.

ASGI's `websocket.close` waits, like every send, until the socket drains; a client that never
reads never lets it. The server's transport can abort at once. ASGI does not hand it out, so
`TransportAccess` (the outermost middleware) takes it from the server's `send` callable, which
is a method of its connection protocol (uvicorn's; `maratang serve` always runs it). This is
the one place that reaches under ASGI; `tests/realtime/test_slow_sockets.py` proves it against
the server the product runs.

The same middleware keeps the server's `send` itself, before Starlette wraps it (its
`WebSocket.send` checks the socket's state, and each of its two exception layers adds a call):
frames leave through it directly, one call per frame. It is plain ASGI, so it works on any
server; Starlette's `WebSocket` still does the handshake, the receiving and the close.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

log = logging.getLogger("maratang.transport")

SCOPE_KEY = "maratang.transport"
SEND_KEY = "maratang.send"


class Transport(Protocol):
    """The parts of an asyncio transport the hub uses."""

    def get_write_buffer_size(self) -> int: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool: ...


class TransportAccess:
    """Puts each WebSocket's transport in its scope (under `SCOPE_KEY`), and the server's
    `send` (under `SEND_KEY`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SEND_KEY] = send
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
    """One socket's transport (or nothing when the server hid it), and the server's `send`."""

    __slots__ = ("_send", "_transport")

    def __init__(self, transport: Transport | None, send: Send) -> None:
        self._transport = transport
        self._send = send

    @classmethod
    def of(cls, websocket: WebSocket) -> Wire:
        """`websocket`'s wire; its sends go through Starlette when `TransportAccess` is not in
        the app."""
        scope = websocket.scope
        return cls(scope.get(SCOPE_KEY), scope.get(SEND_KEY) or websocket.send)

    def send(self, message: Message) -> Coroutine[Any, Any, None]:
        """The server's send of `message`, as a coroutine (which `realtime.eager` can step)."""
        sending = self._send(message)
        return sending if inspect.iscoroutine(sending) else _awaited(sending)

    def unsent(self) -> int:
        """Bytes handed to the socket that the peer has not taken yet (beyond the kernel's)."""
        return self._transport.get_write_buffer_size() if self._transport is not None else 0

    def abort(self) -> None:
        """Drop the connection now, unsent bytes and all (the peer sees a reset)."""
        if self._transport is not None:
            self._transport.abort()


async def _awaited(sending: Awaitable[None]) -> None:
    await sending
