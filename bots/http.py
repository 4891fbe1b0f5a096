"""A tiny HTTP/1.0 client on asyncio streams: all the bots ask of HTTP is a sign-in and the
catalog, so they need no HTTP library. HTTP/1.0 keeps the answer unchunked and ends it with
the connection."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlsplit

import orjson

TIMEOUT = 30.0


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


async def request(
    base: str, method: str, path: str, body: Any = None, tls: ssl.SSLContext | None = None
) -> Any:
    """The JSON answer of `method path` at `base` (`http://` or `https://`); `HttpError` for
    a status other than 200."""
    parts = urlsplit(base)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    payload = b"" if body is None else orjson.dumps(body)
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection(
            host, port, ssl=(tls or ssl.create_default_context()) if secure else None
        )
        try:
            writer.write(head.encode() + payload)
            answer = await reader.read()
        finally:
            writer.close()
    status, content = _parse(answer)
    if status != 200:
        raise HttpError(status, content)
    return orjson.loads(content)


def _parse(answer: bytes) -> tuple[int, bytes]:
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ConnectionError("the connection closed before an answer")
    return int(status_line[1]), content
