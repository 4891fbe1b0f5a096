"""HTTP/1.1 for a client connection, sans I/O: a request's bytes out, a response's head and
body bytes in (RFC 9112).

`ResponseReader` takes whatever the socket gave and returns the body bytes it carried, with the
framing removed: a `Content-Length` body, a chunked body (sizes, extensions and trailers
skipped), or a body that runs until the server closes. It raises `BadResponse` for anything a
server must not send, and says when the response is complete and whether the connection may
carry another request. It knows nothing of SSE: the body's bytes are passed on as they come,
a cut inside a UTF-8 character included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
"""Bytes a response head (status line and headers) or its trailers may take."""
MAX_SIZE_LINE = 1024
"""Bytes a chunk-size line (with its extensions) may take."""

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE = re.compile(r"[\r\n\0]")
_STATUS = re.compile(r"HTTP/1\.([01]) (\d{3})(?: (.*))?")

_HEAD, _FIXED, _SIZE, _DATA, _DATA_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class BadResponse(Exception):
    """The server broke HTTP/1.1 (its fault, not ours): the connection cannot be used further."""


@dataclass(frozen=True, slots=True)
class Head:
    status: int
    reason: str
    headers: dict[str, str]
    """Lower-case names; a repeated header's values joined with `, `."""


def request_bytes(
    method: str, target: str, host: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    """A request with a `Content-Length` body (none for a GET without one); `Host` and
    `Content-Length` are added here. Raises ValueError for a header that is not one."""
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _UNSAFE.search(value):
            raise ValueError(f"not a header: {name!r}")
        lines.append(f"{name}: {value}")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ResponseReader:
    """One response, fed as it arrives. Use one per request."""

    def __init__(self, method: str = "POST") -> None:
        self._method = method
        self._state = _HEAD
        self._buffer = b""
        self._left = 0
        """Bytes still to come in the fixed-length body or the current chunk."""
        self._trailers = 0
        self.head: Head | None = None
        self.keep_alive = False
        """Whether the connection may carry another request once this response is complete."""

    @property
    def complete(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """The body bytes `data` completes (maybe none). Raises `BadResponse`."""
        if self._state == _SIZE and not self._buffer:
            whole = _whole_chunk(data)
            if whole is not None:
                return whole
        buffer = self._buffer + data if self._buffer else data
        body: list[bytes] = []
        position = 0
        while position < len(buffer):
            moved = self._step(buffer, position, body)
            if moved < 0:
                break
            position = moved
        self._buffer = buffer[position:]
        return body[0] if len(body) == 1 else b"".join(body)

    def eof(self) -> None:
        """The server closed the connection. Raises `BadResponse` unless that ends the body."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
        elif self._state != _DONE:
            raise BadResponse("the connection closed before the response ended")

    def _step(self, buffer: bytes, at: int, body: list[bytes]) -> int:
        """Read what the current state can from `buffer[at:]`: where the next unread byte is,
        or -1 when it needs more bytes."""
        state = self._state
        if state in (_DATA, _FIXED):
            take = min(self._left, len(buffer) - at)
            body.append(buffer[at : at + take])
            self._left -= take
            if not self._left:
                self._state = _DATA_END if state == _DATA else _DONE
            return at + take
        if state == _SIZE:
            return self._size(buffer, at)
        if state == _DATA_END:
            return self._data_end(buffer, at)
        if state == _UNTIL_CLOSE:
            body.append(buffer[at:])
            return len(buffer)
        if state == _HEAD:
            return self._head(buffer, at)
        if state == _TRAILERS:
            return self._trailer(buffer, at)
        raise BadResponse("bytes after the end of the response")

    def _size(self, buffer: bytes, at: int) -> int:
        end = buffer.find(b"\n", at)
        if end < 0:
            if len(buffer) - at > MAX_SIZE_LINE:
                raise BadResponse("a chunk-size line too long")
            return -1
        size = buffer[at:end].split(b";", 1)[0].strip(b" \t\r")
        if not _HEX.fullmatch(size):
            raise BadResponse(f"a bad chunk size: {bytes(buffer[at:end])[:40]!r}")
        self._left = int(size, 16)
        self._state = _DATA if self._left else _TRAILERS
        return end + 1

    def _data_end(self, buffer: bytes, at: int) -> int:
        ending = buffer[at : at + 2]
        if ending == b"\r\n" or ending[:1] == b"\n":
            self._state = _SIZE
            return at + (2 if ending == b"\r\n" else 1)
        if ending == b"\r":
            return -1
        raise BadResponse("a chunk longer than its size")

    def _trailer(self, buffer: bytes, at: int) -> int:
        end = buffer.find(b"\n", at)
        if end < 0:
            if self._trailers + len(buffer) - at > MAX_HEAD:
                raise BadResponse("trailers too long")
            return -1
        self._trailers += end + 1 - at
        if not buffer[at:end].strip(b"\r"):
            self._state = _DONE
        elif self._trailers > MAX_HEAD:
            raise BadResponse("trailers too long")
        return end + 1

    def _head(self, buffer: bytes, at: int) -> int:
        found = _HEAD_END.search(buffer, at)
        if found is None:
            if len(buffer) - at > MAX_HEAD:
                raise BadResponse("a response head too long")
            return -1
        head, version = _parse_head(buffer[at : found.start()])
        if 100 <= head.status < 200:
            if head.status == 101:
                raise BadResponse("an unasked-for protocol switch")
            return found.end()  # an interim answer: the real one follows
        self.head = head
        self._frame(head, version)
        return found.end()

    def _frame(self, head: Head, version: str) -> None:
        """How the body is delimited (RFC 9112 §6.3), and whether the connection lives on."""
        headers = head.headers
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        self.keep_alive = version == "1" and "close" not in tokens
        coding = headers.get("transfer-encoding")
        if self._method == "HEAD" or head.status in (204, 304):
            self._state = _DONE
        elif coding is not None:
            chunked = coding.rsplit(",", 1)[-1].strip().lower() == "chunked"
            self._state = _SIZE if chunked else _UNTIL_CLOSE
            self.keep_alive = chunked and self.keep_alive and "content-length" not in headers
        elif "content-length" in headers:
            self._left = _content_length(headers["content-length"])
            self._state = _FIXED if self._left else _DONE
        else:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False


def _whole_chunk(data: bytes) -> bytes | None:
    """The data of `data` when it is exactly one non-empty chunk without extensions (a
    streaming server writes one chunk at a time, so it mostly is); else None."""
    end = data.find(b"\r\n", 0, 17)
    if end < 1 or not _HEX.fullmatch(data, 0, end):
        return None
    stop = end + 2 + int(data[:end], 16)
    if stop == end + 2 or len(data) != stop + 2 or data[stop:] != b"\r\n":
        return None
    return data[end + 2 : stop]


def _parse_head(raw: bytes) -> tuple[Head, str]:
    lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")
    status = _STATUS.fullmatch(lines[0])
    if status is None:
        raise BadResponse(f"not an HTTP/1.1 status line: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise BadResponse(f"a bad header line: {line[:60]!r}")
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return Head(int(status.group(2)), status.group(3) or "", headers), status.group(1)


def _content_length(value: str) -> int:
    """RFC 9110 §8.6: a list of identical values is one value; anything else is an error."""
    values = {v.strip() for v in value.split(",")}
    only = values.pop() if len(values) == 1 else ""
    if not (only.isascii() and only.isdigit() and len(only) <= 15):
        raise BadResponse(f"a bad Content-Length: {value[:40]!r}")
    return int(only)
