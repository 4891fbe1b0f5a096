"""A socket's way out: each frame written at once, in the caller, while the socket takes it;
a queue bounded in bytes, and a writer task, only while it pushes back; and the close.

A socket with room takes a frame without waiting, so the frame is written in the caller (the
hub's fan-out, or the command that replies), with no task switch: the server's ASGI `send` is
stepped by hand (`realtime.eager`) and is done before `Outbox._push` returns. A send that has to
wait (the transport is past its high-water mark and the server paused writing) goes on in a
writer task, and the frames after it queue behind it, in order, until the queue is drained;
then the task ends. Work that must await something else before it writes (a connection
catching up from the log) runs in that task too, made only while there is such work. An idle
socket has no task, queue or event of its own.

Why the server's `send` rather than WebSocket frames written to the transport, which
`realtime.transport` reaches: whether a frame may leave is the server's to say. uvicorn keeps
the socket's state (its own close frames at shutdown, on a keepalive failure or answering the
peer's; ours, which go through Starlette), the framing (with its extensions) and the flow
control (its `writable`, cleared and set by the transport at its water marks, with their
hysteresis, which the buffer's size alone does not tell). Writing under it would read each of
these from the private attributes of one of its three WebSocket implementations. Stepped by
hand, its `send` costs a few calls per frame and keeps all of them with the server: a frame
after a close is refused, and a frame the socket has no room for waits, in order, where the
server makes it wait.

Bytes count against the bound from when a frame starts to wait (queued, or its send
suspended) until the server has written it to the transport; from then on they are the
transport's (`Wire.unsent`, which the stall watchdog reads). A close frame that cannot leave
(the client stopped reading) does not hold the socket open: the connection is aborted.

The frames written and their bytes are counted in two integers (`take_sent`), which the
metrics take about once a second: nothing else is paid per frame for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from protocol import Frame
from protocol.errors import CloseCode
from realtime import eager
from realtime.transport import Wire

log = logging.getLogger("maratang.connection")

CLOSE_SECONDS = 1.0
"""How long a close frame may wait for room in the socket before the connection is aborted."""
LINGER_SECONDS = 5.0
"""How long a closed socket may keep unsent bytes (a peer that never reads) before it is
aborted."""
SEND_ERRORS = (WebSocketDisconnect, RuntimeError, OSError)
"""What a send raises once the socket is closed or closing (uvicorn's `ClientDisconnected` is
an OSError; a send after the close frame, a RuntimeError)."""


def frame_size(frame: Frame) -> int:
    """Bytes `frame` takes on the wire, about: a text frame that is not ASCII is counted at
    3 bytes a character (what UTF-8 takes for Korean)."""
    if isinstance(frame, bytes) or frame.isascii():
        return len(frame)
    return 3 * len(frame)


def close_reason(text: str) -> str:
    """`text` cut to what a close frame carries (123 bytes of UTF-8), on a character edge."""
    return text.encode()[:123].decode(errors="ignore")


def _message(frame: Frame) -> Message:
    if isinstance(frame, bytes):
        return {"type": "websocket.send", "bytes": frame}
    return {"type": "websocket.send", "text": frame}


class SocketGone(Exception):
    """The socket closed under the writer; the receive loop will see it too."""


class Outbox:
    """One socket's sending side. `_work_behind` and `_behind` are what a subclass gives its
    writer to do after the queue (catching up), and whether there is any."""

    __slots__ = (
        "_broken",
        "_closed",
        "_drained",
        "_gone",
        "_queue",
        "_queue_bytes",
        "_queued",
        "_sending_since",
        "_sent_bytes",
        "_sent_frames",
        "_unsent_seen",
        "_who",
        "_wire",
        "_writer",
        "close_code",
        "closing",
        "slow",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, queue_bytes: int, who: str) -> None:
        self.websocket = websocket
        self.closing = False
        self._who = who
        """Whose socket, for the log."""
        self._wire = Wire.of(websocket)
        self._queue_bytes = queue_bytes
        self._queue: deque[Frame] | None = None
        """Frames waiting behind the writer (None while there are none)."""
        self._queued = 0
        """Bytes waiting: queued, or in a send that waits for room."""
        self._writer: asyncio.Task[None] | None = None
        """The task that writes while the socket pushes back or work is behind (else None)."""
        self._broken: str | None = None
        self._gone = False
        """A send found the socket closed, or it was stopped: nothing more is written."""
        self._sending_since: float | None = None
        self._unsent_seen = 0
        self._drained: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._sent_frames = 0
        self._sent_bytes = 0
        """Frames written since the metrics last took them (`take_sent`), and their bytes."""
        self.close_code: int | None = None
        """The first close code said: ours, or the peer's (`note_close`)."""
        self.slow: str | None = None
        """Why it was closed as a slow consumer, if it was: `queue` or `stall`."""

    def _fits(self, size: int, share: float = 1.0) -> bool:
        """Whether `size` more bytes keep what waits within `share` of the bound."""
        return self._queued + size <= self._queue_bytes * share

    def _push(self, frame: Frame, size: int) -> None:
        """Write `frame` now, or queue it behind the writer when there is one."""
        if self.closing or self._gone:
            return
        if self._writer is None:
            self._write_now(frame, size)
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(frame)
        self._queued += size

    def _mark_broken(self, why: str) -> None:
        """The socket must be closed (`overflow` says why; the first reason stays)."""
        self._broken = self._broken or why

    @property
    def overflow(self) -> str | None:
        """Why the socket must be closed because its frames can no longer be sent (None while
        they can)."""
        return self._broken

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting now, as they count against the bound."""
        return self._queued

    def take_sent(self) -> tuple[int, int]:
        """The frames written since the last call, and their bytes (for the metrics)."""
        sent = self._sent_frames, self._sent_bytes
        self._sent_frames = self._sent_bytes = 0
        return sent

    @property
    def writing(self) -> bool:
        """Whether a task writes for this socket now (it pushes back, or work is behind)."""
        return self._writer is not None

    async def drained(self) -> None:
        """Returns once every frame waiting now has been handed to the socket (at once when
        none waits: the socket took each as it came)."""
        if self._queued == 0:
            return
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drained)

    def trouble(self, now: float, stall: float) -> str | None:
        """Why this socket must be closed as a slow consumer (4408), if it must: its frames
        cannot be sent, or it took no byte for `stall` seconds while a frame waited (`now`
        on the event loop's clock). Called by the watchdog, about once a second."""
        if self.closing:
            return None
        if self._broken is not None or self._sending_since is None:
            return self._broken
        unsent = self._wire.unsent()
        if unsent < self._unsent_seen:  # the peer took bytes since the last look
            self._sending_since = now
        self._unsent_seen = unsent
        if now - self._sending_since > stall:
            return f"it took no byte for {stall:g} s"
        return None

    # The writer, while the socket pushes back or work is behind ---------------------------

    def _behind(self) -> bool:
        """Whether the writer has work after the queue (a subclass's)."""
        return False

    async def _work_behind(self) -> None:
        """One round of that work; it writes with `_send`."""

    def _ensure_writer(self) -> None:
        """Start the writer for work behind, unless it runs (it sees the work when its queue
        is empty)."""
        if self._writer is None and not (self.closing or self._gone):
            self._writer = self._start(None, 0)

    def _write_now(self, frame: Frame, size: int) -> None:
        """Hand `frame` to the server in the caller. If the socket pushes back, its send waits
        in a writer task, and the frames that follow queue behind it."""
        try:
            waiting = eager.start(self._wire.send(_message(frame)))
        except SEND_ERRORS:
            self._went()
            return
        except Exception:  # one socket's failure never reaches the fan-out to the others
            self._fail()
            return
        if waiting is None:
            self._sent_frames += 1
            self._sent_bytes += size
            return
        self._queued += size
        self._sending_since = asyncio.get_running_loop().time()
        self._writer = self._start(waiting, size)

    def _start(self, waiting: eager.Waiting | None, size: int) -> asyncio.Task[None]:
        return asyncio.create_task(self._write_behind(waiting, size), name=f"writer {self._who}")

    def _went(self) -> None:
        """A send found the socket closed (the receive loop sees it too): write no more."""
        log.debug("the socket of %s refused a frame", self._who, exc_info=True)
        self._gone = True

    def _fail(self) -> None:
        log.exception("could not write to the socket of %s", self._who)
        self._mark_broken("its frames could not be sent")

    async def _write_behind(self, waiting: eager.Waiting | None, size: int) -> None:
        """The writer: finish the send the socket pushed back on, send what queued behind it,
        then the work behind; it ends when nothing is left."""
        try:
            if waiting is not None:
                await self._sent(eager.finish(waiting), size, size)
            await self._drain()
            while self._behind() and not self.closing:
                await self._work_behind()
                await self._drain()
        except SocketGone:
            self._went()
        except Exception:
            self._fail()
        finally:
            self._writer_done()

    def _writer_done(self) -> None:
        self._writer = None
        self._sending_since = None
        self._drop_queue()

    def _drop_queue(self) -> None:
        self._queue = None
        self._queued = 0
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def _drain(self) -> None:
        """In the writer: send the frames queued behind it, in order; once closing, drop
        them."""
        while self._queue and not self.closing:
            frame = self._queue.popleft()
            await self._send(frame, queued=True)
        self._drop_queue()

    async def _send(self, frame: Frame, queued: bool = False) -> None:
        """In the writer: send `frame` (counted against the bound while `queued`);
        SocketGone when the socket closed."""
        size = frame_size(frame)
        await self._sent(self._wire.send(_message(frame)), size if queued else 0, size)

    async def _sent(self, sending: Awaitable[None], queued: int, size: int) -> None:
        """Wait for a send of `size` bytes, `queued` of which count against the bound."""
        self._sending_since = asyncio.get_running_loop().time()
        try:
            await sending
        except SEND_ERRORS as exc:
            raise SocketGone from exc
        finally:
            self._sending_since = None
            self._queued -= queued
        self._sent_frames += 1
        self._sent_bytes += size

    async def stop(self) -> None:
        """The socket is gone: nothing more is written, and the writer, if any, ends."""
        self._gone = True
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.wait([writer])
        self._writer_done()

    # Closing -------------------------------------------------------------------------------

    async def close(self, code: CloseCode, reason: str = "") -> None:
        """Close the socket with `code`. When the close frame cannot leave within
        CLOSE_SECONDS, or what was sent is still unsent LINGER_SECONDS later (the peer stopped
        reading), the connection is aborted: no socket outlives its close."""
        if self.closing:
            await self.wait_closed()
            return
        self.closing = True
        self.note_close(code)
        closed = self._closed = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                if self.websocket.application_state == WebSocketState.CONNECTED:
                    await self.websocket.close(code=int(code), reason=close_reason(reason))
        except TimeoutError:
            log.info("aborting the socket of %s: its close frame cannot leave", self._who)
            self._wire.abort()
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass
        else:
            asyncio.get_running_loop().call_later(LINGER_SECONDS, self._abort_if_stuck)
        finally:
            closed.set_result(None)

    def note_close(self, code: int) -> None:
        """Note a close code, ours or the peer's: the first said stays."""
        if self.close_code is None:
            self.close_code = int(code)

    async def close_slow(self, why: str) -> None:
        """Close as a slow consumer (4408: the client resumes), saying why in the log."""
        if not self.closing:
            self.slow = "stall" if self._broken is None else "queue"
        log.info("closing the socket of %s as a slow consumer: %s", self._who, why)
        await self.close(CloseCode.SLOW_CONSUMER, "slow consumer, resume")

    async def close_when_drained(self, code: CloseCode, reason: str) -> None:
        """Close once the frames waiting now have left (a second at most): the `error` or
        `bye` that says why goes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained(), 1.0)
        await self.close(code, reason)

    async def wait_closed(self) -> None:
        """Returns once a close begun elsewhere is done (sent, or the connection aborted)."""
        if self._closed is not None:
            await asyncio.shield(self._closed)

    def _abort_if_stuck(self) -> None:
        if self._wire.unsent() > 0:
            log.info("aborting the socket of %s: it stopped reading", self._who)
            self._wire.abort()
