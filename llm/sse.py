"""Server-sent events, sans I/O: bytes in, the `data` of each complete event out.

Follows the WHATWG event-stream rules that matter for an OpenAI-compatible stream: lines end
in LF, CRLF or CR; a blank line ends an event; lines starting with `:` are comments (vLLM's
`: keep-alive`); `data:` loses one leading space and several `data` lines join with LF; other
fields (`event`, `id`, `retry`) are ignored. Bytes are decoded a whole line at a time, so a
chunk boundary inside a UTF-8 character (any Korean syllable) is harmless.
"""

from __future__ import annotations

_BOM = "\ufeff"


class SSEParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._started = False
        self._cr_pending = False
        """The last byte fed was CR: an LF that follows belongs to the same line end."""

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event completed by `chunk`, in order."""
        idle = self._started and not (self._buffer or self._data or self._cr_pending)
        if idle and _one_event(chunk):
            return [chunk[6:-2].decode("utf-8", errors="replace")]  # the common case, fast
        if self._cr_pending and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._cr_pending = chunk[-1:] == b"\r"
        self._buffer += chunk
        events: list[str] = []
        while True:
            end, step = _line_end(self._buffer)
            if end < 0:
                return events
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + step :]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _line(self, line: str) -> str | None:
        if not self._started:
            self._started = True
            line = line.removeprefix(_BOM)
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None


def _one_event(chunk: bytes) -> bool:
    """Whether `chunk` is exactly one `data: ` line and the blank line that ends it, with LF
    line ends (what vLLM writes each time)."""
    return (
        chunk.startswith(b"data: ")
        and chunk.find(b"\n") == len(chunk) - 2
        and chunk.endswith(b"\n\n")
        and b"\r" not in chunk
    )


def _line_end(buffer: bytes) -> tuple[int, int]:
    """Where the first complete line of `buffer` ends, and the length of its line break.

    A CR at the very end is a complete line end (an LF that may follow is skipped by `feed`)."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r", 0, lf if lf >= 0 else len(buffer))
    if cr >= 0:
        return cr, 2 if buffer[cr + 1 : cr + 2] == b"\n" else 1
    return lf, 1
