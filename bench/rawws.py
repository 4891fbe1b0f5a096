"""A minimal WebSocket client on an asyncio protocol, for load generators: it does only what a
benchmark needs (handshake, text frames, pong), so that the generator's own CPU cost per frame
stays far below the server's and does not become what is measured."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson

OnMessage = Callable[[bytes], None]


class RawSocket(asyncio.Protocol):
    def __init__(self, on_message: OnMessage, subprotocol: str) -> None:
        self.on_message = on_message
        self.subprotocol = subprotocol
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[:12])
            del self._buffer[: end + 4]
            if not status.endswith(b"101"):
                self.opened.set_exception(ConnectionError(f"handshake refused: {status!r}"))
                return
            self._upgraded = True
            self.opened.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                (length,), start = struct.unpack_from("!H", buffer, 2), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                (length,), start = struct.unpack_from("!Q", buffer, 2), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode in (1, 2):
                self.on_message(payload)
            elif opcode == 9:
                self._send(10, payload)

    def send_json(self, message: dict[str, object]) -> None:
        self._send(1, orjson.dumps(message))

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(size, "big")
        self.transport.write(head + mask + masked)

    def stop_reading(self) -> None:
        """Take nothing more from the socket: what the server sends piles up in the kernel's
        buffers, then in the server's."""
        if self.transport is not None:
            self.transport.pause_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    url: str, on_message: OnMessage, subprotocol: str, receive_buffer: int | None = None
) -> RawSocket:
    """A socket upgraded to WebSocket at `url`; `receive_buffer` shrinks its kernel receive
    buffer (SO_RCVBUF, set before connecting so the window is small from the start)."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    raw.setblocking(False)
    await loop.sock_connect(raw, (parts.hostname or "127.0.0.1", parts.port or 80))
    _, sock = await loop.create_connection(lambda: RawSocket(on_message, subprotocol), sock=raw)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
    )
    assert sock.transport is not None
    sock.transport.write(request.encode())
    await sock.opened
    return sock
