"""The `/ws` endpoint: admission, handshake, `hello`, the receive loop, and the one place where
exceptions become `error` frames and close codes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from protocol import Codec, Frame, choose_codec, parse_client, serialize
from protocol.errors import CloseCode, ErrorCode, ProtocolError
from protocol.events import Error, Welcome
from protocol.messages import Hello
from protocol.types import PlayerView
from realtime.auth import BadToken
from realtime.clock import now_ms
from realtime.connection import Connection
from realtime.http import client_address
from realtime.limits import MAX_STRIKES, TokenBucket
from realtime.metrics import command_type
from realtime.outbox import frame_size
from realtime.runtime import Runtime
from realtime.service import SESSION_ID
from storage.engine import EngineUnavailable, restored_since

log = logging.getLogger("maratang.ws")

MALFORMED = frozenset({ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID})
"""Errors that count towards closing a socket for abuse (refusals of well-formed commands,
such as `wrong_phase`, do not; `rate_limited` has a count of its own)."""
NO_STATUS = 1005
"""The close code of a close that said none (RFC 6455)."""
FORGIVEN_PER_SECOND = 1.0
"""Refusals for going over the rate limit forgiven per second; beyond the burst: 4429."""


async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    offered = list(websocket.scope.get("subprotocols") or [])
    codec = choose_codec(offered)
    if codec is None:
        await websocket.close(code=1002)  # before accept: the handshake is refused (403)
        return
    admission = runtime.admission
    address = admission.addresses.key(client_address(websocket))
    refusal = admission.admit(address)
    if refusal is not None:
        status, why = refusal
        retry = {"Retry-After": "1"}
        await websocket.send_denial_response(PlainTextResponse(why, status, headers=retry))
        return
    try:
        try:
            await websocket.accept(subprotocol=codec.subprotocol if offered else None)
            hello = await _hello(websocket, codec, runtime)
        finally:
            admission.said_hello(address)
        if hello is not None:
            player, message = hello
            queue = runtime.settings.send_queue_bytes
            conn = Connection(websocket, codec, player, runtime.engine, queue, address)
            await _serve(conn, message, runtime)
    finally:
        admission.gone(address)


async def _serve(conn: Connection, hello: Hello, runtime: Runtime) -> None:
    """Everything a socket does once its player is known, until it goes."""
    runtime.connections.add(conn)
    runtime.metrics.socket_opened(conn)
    try:
        await _greet(conn, hello, runtime)
        await _receive_loop(conn, runtime)
    except EngineUnavailable:
        conn.reply(Error(code=ErrorCode.BUSY, message="the game store is unreachable", retry=True))
        await conn.close_when_drained(CloseCode.TRY_AGAIN_LATER, "try again later")
    except ProtocolError as exc:
        conn.reply(_error(exc.code, exc.message, None, exc.field))
        await conn.close_when_drained(exc.close or CloseCode.TRY_AGAIN_LATER, exc.message)
    finally:
        await conn.wait_closed()  # a close begun by the watchdog ends before the socket does
        runtime.connections.discard(conn)
        try:
            await conn.stop()  # its writer, if the socket was pushing back or behind
        finally:
            runtime.metrics.socket_closed(conn)
            await runtime.dispatcher.drop(conn)
            await runtime.admission.release(conn)


async def _hello(
    websocket: WebSocket, codec: Codec, runtime: Runtime
) -> tuple[PlayerView, Hello] | None:
    """The player a valid first frame `hello` names; otherwise the socket is closed 4401."""
    try:
        frame = await asyncio.wait_for(_receive(websocket), runtime.settings.hello_timeout)
        if isinstance(frame, int):  # gone before its hello
            runtime.metrics.closed(frame)
            return None
        message = parse_client(codec.decode(frame))
        if not isinstance(message, Hello):
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "the first frame must be hello")
        return runtime.signer.verify(message.token), message
    except TimeoutError:
        reason = "no hello in time"
    except BadToken as exc:
        reason = str(exc)
    except ProtocolError as exc:
        reason = exc.message
    error = Error(code=ErrorCode.UNAUTHORIZED, message=reason, retry=False)
    frame = codec.encode(serialize(error))
    sent: int | None = None
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
        async with asyncio.timeout(runtime.settings.hello_timeout):
            if isinstance(frame, bytes):
                await websocket.send_bytes(frame)
            else:
                await websocket.send_text(frame)
            sent = frame_size(frame)
            await websocket.close(code=CloseCode.UNAUTHORIZED, reason="hello required")
    runtime.metrics.hello_refused(codec, sent)
    return None


async def _greet(conn: Connection, hello: Hello, runtime: Runtime) -> None:
    """Take the player's place and say welcome, counting what the hello became."""
    try:
        await runtime.admission.hold(conn)
        outcome = await _welcome(conn, hello, runtime)
    except (EngineUnavailable, ProtocolError):
        runtime.metrics.hello("refused")
        raise
    runtime.metrics.hello(outcome)


async def _welcome(conn: Connection, hello: Hello, runtime: Runtime) -> str:
    """Say welcome; on `resume`, follow the session again from the client's `seq`. What
    the hello became: `new` (no table to go back to), `resumed` (the events missed follow),
    or `sync` (back at the table, with its whole state: the log no longer holds what was
    missed, or the table was restored)."""
    session = None
    outcome = "new"
    restored = False
    resume = hello.resume
    if resume is not None and SESSION_ID.fullmatch(resume.session):
        snapshot = await runtime.engine.load(resume.session)
        if snapshot is None and runtime.records.kept:  # lost from the live store?
            restored = await runtime.service.restore(resume.session, conn.player.id)
            snapshot = await runtime.engine.load(resume.session) if restored else None
        elif snapshot is not None:  # restored since the client's seq? (numbering jumped)
            restored = restored_since(resume.seq, snapshot.seq)
        if snapshot is not None and snapshot.table.seat(conn.player.id) is not None:
            session = resume.session
            missed = snapshot.seq - resume.seq
            resumed = not restored and 0 <= missed <= runtime.settings.history
            outcome = "resumed" if resumed else "sync"
    conn.reply(
        Welcome(
            player=conn.player,
            heartbeat_ms=int(runtime.settings.ping_interval * 1000),
            server_time=now_ms(),
            session=session,
        )
    )
    if session is not None and resume is not None:
        await runtime.dispatcher.resume(conn, session, resume.seq, restored)
    return outcome


async def _receive(websocket: WebSocket) -> Frame | int:
    """The next frame; or, once the socket closed, the close code."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return int(message.get("code", NO_STATUS))
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


async def _receive_loop(conn: Connection, runtime: Runtime) -> None:
    settings = runtime.settings
    bucket = TokenBucket(settings.rate_per_second, settings.rate_burst)
    patience = TokenBucket(FORGIVEN_PER_SECOND, settings.rate_burst)
    strikes = 0
    while not conn.closing:
        frame = await _receive(conn.websocket)
        if isinstance(frame, int):
            conn.note_close(frame)
            return
        arrived = time.perf_counter()
        data: object = None
        close: tuple[CloseCode, str] | None = None
        outcome = "ok"
        try:
            data = conn.codec.decode(frame)
            if not bucket.take():
                raise ProtocolError(ErrorCode.RATE_LIMITED, "slow down")
            await runtime.dispatcher.handle(conn, parse_client(data))
            strikes = 0
        except ProtocolError as exc:
            outcome = exc.code
            conn.reply(_error(exc.code, exc.message, data, exc.field))
            strikes = strikes + 1 if exc.code in MALFORMED else 0
            if exc.close is not None:
                close = exc.close, exc.message
            elif exc.code == ErrorCode.RATE_LIMITED and not patience.take():
                close = CloseCode.ABUSE, "over the rate limit"
        except EngineUnavailable:
            outcome = ErrorCode.BUSY
            conn.reply(_error(ErrorCode.BUSY, "the game store is unreachable; try again", data))
        except Exception:
            outcome = ErrorCode.INTERNAL
            log.exception("command failed for %s", conn.player.id)
            conn.reply(_error(ErrorCode.INTERNAL, "the server failed; try again", data))
        runtime.metrics.command(command_type(data), outcome, time.perf_counter() - arrived)
        if strikes >= MAX_STRIKES:
            close = CloseCode.ABUSE, "too many bad frames"
        if conn.overflow is not None:  # its replies are no longer sent: stop taking commands
            await conn.close_slow(conn.overflow)
            return
        if close is not None:
            await conn.close_when_drained(*close)
            return
        await asyncio.sleep(0)  # frames that came in one read never starve the other sockets


def _error(code: ErrorCode, message: str, data: object, field: str | None = None) -> Error:
    rid = data.get("rid") if isinstance(data, Mapping) else None
    if not isinstance(rid, str | int) or isinstance(rid, bool):
        rid = None
    return Error(code=code, message=message, retry=code.retryable, rid=rid, field=field)
