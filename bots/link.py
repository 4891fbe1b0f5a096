"""A lean WebSocket client: `picows`, whose frame parser is compiled, over an asyncio
transport.

No task per socket and no queue: every whole message is handed to a callback, on the loop's
own call, straight from the parser. Pausing the transport stops reading, as a phone app in the
background does; aborting it drops the connection without a close frame, as a lost network
does.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from picows import (
    WSCloseCode,
    WSFrame,
    WSHandshakeError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)

MAX_MESSAGE = 2**22
"""Server frames may be large (a `sync` of a full table); accept up to 4 MiB."""
ABNORMAL = 1006
"""The close code a client reports when the connection ended without a close frame."""

OnMessage = Callable[["Link", bytes | str], None]
"""Called with the link and each whole message it received."""


class HandshakeRefused(ConnectionError):
    """The server (or the proxy before it) answered the upgrade with an HTTP status instead of
    a WebSocket."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


class Link(WSListener):
    """One WebSocket, open once `open_link` returns it. `closed` resolves with the close code
    the client saw (1006 when the connection ended without a close frame)."""

    def __init__(self, on_message: OnMessage) -> None:
        super().__init__()
        self.on_message = on_message
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None
        self.code = ABNORMAL
        self._parts: list[bytes] = []
        self._text = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.BINARY and frame.fin:
            self.on_message(self, frame.get_payload_as_bytes())
        elif kind is WSMsgType.TEXT and frame.fin:
            self.on_message(self, frame.get_payload_as_utf8_text())
        elif kind in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            self._part(kind, frame.get_payload_as_bytes(), frame.fin)
        elif kind is WSMsgType.CLOSE:
            self.code = frame.get_close_code().value
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode(self.code))
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result(self.code)

    def send(self, frame: bytes | str) -> None:
        if self.transport is None or self.transport.is_close_frame_sent:
            return
        if isinstance(frame, str):
            self.transport.send(WSMsgType.TEXT, frame.encode())
        else:
            self.transport.send(WSMsgType.BINARY, frame)

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_close_frame_sent:
            self.transport.send_close(WSCloseCode(code))

    def abort(self) -> None:
        """Drop the connection without a close frame."""
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    def pause(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.underlying_transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.underlying_transport.resume_reading()

    def _part(self, kind: WSMsgType, data: bytes, fin: bool) -> None:
        if kind is not WSMsgType.CONTINUATION:
            self._text = kind is WSMsgType.TEXT
        self._parts.append(data)
        if fin:
            whole = b"".join(self._parts)
            self._parts.clear()
            self.on_message(self, whole.decode() if self._text else whole)


async def open_link(
    url: str, subprotocol: str, on_message: OnMessage, tls: ssl.SSLContext | None
) -> Link:
    """A connected, upgraded `Link` to `url` (`ws://` or `wss://`). Cancelled while the
    upgrade is under way, the socket is dropped as soon as it opens, rather than left open."""
    connecting = asyncio.ensure_future(
        ws_connect(
            lambda: Link(on_message),
            url,
            ssl_context=tls,
            websocket_handshake_timeout=None,
            max_frame_size=MAX_MESSAGE,
            use_aiofastnet=False,  # the loop's own transport: uvloop's, which pauses reading
            extra_headers={"Sec-WebSocket-Protocol": subprotocol},
        )
    )
    try:
        _, link = await asyncio.shield(connecting)
    except asyncio.CancelledError:
        connecting.add_done_callback(_drop)
        raise
    except WSHandshakeError as exc:
        if exc.response is None:
            raise ConnectionError(str(exc)) from exc
        raise HandshakeRefused(exc.response.status) from exc
    assert isinstance(link, Link)
    return link


def _drop(connecting: asyncio.Future[tuple[WSTransport, WSListener]]) -> None:
    """Drop the socket of an upgrade that ended after its caller gave up on it."""
    if not connecting.cancelled() and connecting.exception() is None:
        connecting.result()[0].disconnect(graceful=False)


def tls_context(insecure: bool) -> ssl.SSLContext:
    """The TLS context for `wss://` and `https://`: verifying, unless `insecure` (a staging
    box's self-signed certificate)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
