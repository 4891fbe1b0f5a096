"""A lean WebSocket client: the sans-I/O `websockets.client.ClientProtocol` over an asyncio
transport.

No task per socket and no queue: bytes from the transport go through the protocol object and
every whole message is handed to a callback, on the loop's own call. Pausing the transport
stops reading, as a phone app in the background does; aborting it drops the connection
without a close frame, as a lost network does.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

MAX_MESSAGE = 2**22
"""Server frames may be large (a `sync` of a full table); accept up to 4 MiB."""
ABNORMAL = 1006
"""The close code a client reports when the connection ended without a close frame."""

DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
OnMessage = Callable[[bytes | str], None]


class HandshakeRefused(Exception):
    """The server answered the upgrade with an HTTP status instead of a WebSocket."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


class Link(asyncio.Protocol):
    """One WebSocket. `opened` resolves once the handshake is done; `closed` with the close
    code the client saw (1006 when the connection ended without a close frame)."""

    def __init__(self, url: str, subprotocol: str, on_message: OnMessage) -> None:
        self.ws = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol(subprotocol)], max_size=MAX_MESSAGE
        )
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._parts: list[bytes] = []
        self._text = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        self._handle()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._handle()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("connection closed in handshake"))
        if not self.closed.done():
            code = self.ws.close_rcvd.code if self.ws.close_rcvd is not None else ABNORMAL
            self.closed.set_result(code)

    def send(self, frame: bytes | str) -> None:
        if self.ws.state is not State.OPEN:
            return
        if isinstance(frame, str):
            self.ws.send_text(frame.encode())
        else:
            self.ws.send_binary(frame)
        self._flush()

    def close(self, code: int = 1000) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_close(code)
            self._flush()

    def abort(self) -> None:
        """Drop the connection without a close frame."""
        if self.transport is not None:
            self.transport.abort()

    def pause(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _handle(self) -> None:
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self._answered(event)
            elif isinstance(event, Frame) and event.opcode in DATA:
                self._part(event.opcode, bytes(event.data), event.fin)
        self._flush()

    def _answered(self, response: Response) -> None:
        if self.ws.handshake_exc is not None:
            self.opened.set_exception(HandshakeRefused(response.status_code))
        else:
            self.opened.set_result(None)

    def _part(self, opcode: Opcode, data: bytes, fin: bool) -> None:
        if opcode is not Opcode.CONT:
            self._text = opcode is Opcode.TEXT
        self._parts.append(data)
        if fin:
            whole = b"".join(self._parts) if len(self._parts) > 1 else self._parts[0]
            self._parts.clear()
            self.on_message(whole.decode() if self._text else whole)

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            else:  # the closing handshake is over: the end of our side of the stream
                self.transport.close()


async def open_link(
    url: str, subprotocol: str, on_message: OnMessage, tls: ssl.SSLContext | None
) -> Link:
    """A connected, upgraded `Link` to `url` (`ws://` or `wss://`)."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    loop = asyncio.get_running_loop()
    _, link = await loop.create_connection(
        lambda: Link(url, subprotocol, on_message),
        host,
        port,
        ssl=(tls or ssl.create_default_context()) if secure else None,
        server_hostname=host if secure else None,
    )
    try:
        await link.opened
    except BaseException:
        link.abort()
        raise
    return link


def tls_context(insecure: bool) -> ssl.SSLContext:
    """The TLS context for `wss://` and `https://`: verifying, unless `insecure` (a staging
    box's self-signed certificate)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
