"""`HTTPClient`: the HTTP/1.1 client that talks to the model servers, on plain asyncio
protocols (`llm/http_connection.py`).

It does what the narrator needs and nothing else: one request at a time per connection, a
keep-alive pool per origin, `http` and `https` (basic auth from the URL's `user:password@`), a
bound on requests in flight, a body read as it arrives, and whole small answers for the
probes and the guard. It reads no proxy settings from the environment: model servers are
reached directly.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from llm.http1 import request_bytes
from llm.http_connection import (
    ConnectFailed,
    Connection,
    ConnectTimeout,
    HTTPFailure,
    Origin,
    Response,
)

KEEPALIVE_SECONDS = 4.0
"""An idle connection is not used after this long (uvicorn, which serves vLLM, closes them
after 5 s)."""
CLOSE_SECONDS = 1.0
"""How long `aclose` waits for the connections it closes to be gone."""
POOL_SECONDS = 1.0
"""How long a request waits for one of the `max_connections` to be free."""
MAX_ANSWER = 1024 * 1024
"""Bytes `get` reads of a body."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole (small) response, for probes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON. Raises ValueError when it is not."""
        return orjson.loads(self.body)


def _target(url: str) -> tuple[Origin, str, str | None]:
    """The origin, the request target and a basic-auth header value (from the URL's
    `user:password@`) of an http(s) URL. Raises ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not the URL itself: it may carry a password, and this error reaches the log.
        raise ValueError(f"not an http(s) URL with a host (scheme {parts.scheme!r})")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    return Origin(parts.scheme, parts.hostname, port), target, auth


class HTTPClient:
    """HTTP/1.1 to the model servers. Make one in the app's lifespan and `aclose` it there;
    every method must be called from the loop that made it."""

    def __init__(self, max_connections: int = 100) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._max_idle = max_connections
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()
        self._tls: ssl.SSLContext | None = None
        self.opened = 0
        """Connections opened so far (a stream on a reused one opens none)."""

    async def stream(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], connect: float
    ) -> Response:
        """Send a request and return its response once the head has come; the body is read
        from the response. `connect` bounds making a connection; the wait for the head is
        the caller's to bound (cancelling it drops the connection). Raises `HTTPFailure`."""
        try:
            origin, target, auth = _target(url)
            if auth is not None and not any(n.lower() == "authorization" for n in headers):
                headers = {**headers, "authorization": auth}
            request = request_bytes(method, target, origin.authority, headers, body)
        except ValueError as exc:  # nothing can be sent: as good as no connection
            raise ConnectFailed(f"{exc}") from None
        try:
            async with asyncio.timeout(POOL_SECONDS):
                await self._slots.acquire()
        except TimeoutError:
            raise ConnectFailed(f"no free connection within {POOL_SECONDS} s") from None
        try:
            return await self._send(origin, method, request, connect)
        except BaseException:
            self._slots.release()
            raise

    async def get(
        self, url: str, headers: Mapping[str, str] | None = None, timeout: float = 2.0
    ) -> Answer:
        """A whole GET answer (at most `MAX_ANSWER` bytes of body) within `timeout` seconds.
        Raises `HTTPFailure`."""
        return await self._whole("GET", url, b"", headers or {}, timeout)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """A whole answer to a small POST (a guard's verdict), as `get`. Raises
        `HTTPFailure`."""
        return await self._whole("POST", url, body, headers, timeout)

    async def _whole(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        try:
            async with asyncio.timeout(timeout):
                response = await self.stream(method, url, body, headers, timeout)
                try:
                    data = b""
                    while len(data) < MAX_ANSWER and (piece := await response.read()):
                        data += piece
                finally:
                    response.close()
        except TimeoutError:
            raise HTTPFailure(f"no answer within {timeout} s") from None
        return Answer(response.status, response.headers, data[:MAX_ANSWER])

    async def aclose(self) -> None:
        """Close every connection, in use or not, and wait until they are gone."""
        self._idle.clear()
        closing = list(self._open)
        for connection in closing:
            connection.drop()
        if closing:
            await asyncio.wait([c.gone for c in closing], timeout=CLOSE_SECONDS)

    async def _send(self, origin: Origin, method: str, request: bytes, connect: float) -> Response:
        connection = self._parked(origin)
        if connection is not None:
            try:
                return await connection.send(method, request)
            except ConnectFailed:
                pass  # the server closed it while it was idle: once more, on a new one
        connection = await self._connect(origin, connect)
        return await connection.send(method, request)

    def _parked(self, origin: Origin) -> Connection | None:
        parked = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while parked:
            connection = parked.pop()
            fresh = now - connection.idle_since < KEEPALIVE_SECONDS
            if fresh and not connection.lost and not connection.closing():
                return connection
            connection.drop()
        return None

    async def _connect(self, origin: Origin, seconds: float) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    lambda: Connection(self, origin),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"could not connect within {seconds} s") from None
        except OSError as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from None
        self.opened += 1
        self._open.add(connection)
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    # Called by the connections -----------------------------------------------------------

    def free(self) -> None:
        self._slots.release()

    def forget(self, connection: Connection) -> None:
        self._open.discard(connection)

    def park(self, connection: Connection) -> None:
        parked = self._idle.setdefault(connection.origin, [])
        if len(parked) >= self._max_idle:
            parked.pop(0).drop()
        connection.idle_since = asyncio.get_running_loop().time()
        parked.append(connection)
