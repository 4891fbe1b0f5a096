"""A socket's send path, in-process: a frame leaves in the caller while the socket takes it, a
writer task exists only while the socket pushes back or lags, and the order, the byte bound,
the stall watch and the close hold across the two.

`Peer` stands in for the server's side of one socket as uvicorn's `websockets-sansio` behaves:
a send waits while writing is paused (the transport is past its high-water mark), a send
after the close frame is refused, and an abort drops the connection."""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from starlette.types import Message
from starlette.websockets import WebSocket

from game.state import Table
from protocol import JSON, Frame, Logged
from protocol.errors import CloseCode
from protocol.events import NarrationDelta, Pong
from protocol.types import NarrationId, PlayerId, PlayerView, SessionId
from realtime import outbox
from realtime.connection import Connection
from realtime.hub import Hub
from realtime.transport import SCOPE_KEY, SEND_KEY
from storage.memory import MemoryEngine

PLAYER = PlayerView(id=PlayerId("p_민지"), name="민지")
SESSION = SessionId("s_table")


class Peer:
    """The server's side of one socket (and its transport), under the test's control."""

    def __init__(self, through_starlette: bool = False) -> None:
        self.through_starlette = through_starlette
        """Whether the app's frames reach it through Starlette (no `TransportAccess`)."""
        self.writable = asyncio.Event()
        self.writable.set()
        self.written: list[Frame] = []
        self.closed_with: int | None = None
        self.aborted = False
        self.unsent = 0

    async def send(self, message: Message) -> None:
        await self.writable.wait()
        if self.aborted:
            raise OSError("the connection was aborted")
        if message["type"] == "websocket.send":
            if self.closed_with is not None:
                raise RuntimeError("a send after the close")
            self.written.append(message.get("text") or message.get("bytes") or b"")
        elif message["type"] == "websocket.close":
            self.closed_with = message["code"]

    async def receive(self) -> Message:
        return {"type": "websocket.connect"}

    def pause(self) -> None:
        self.writable.clear()

    def resume(self) -> None:
        self.writable.set()

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def abort(self) -> None:
        self.aborted = True
        self.writable.set()  # as uvicorn's connection_lost does

    def is_closing(self) -> bool:
        return self.aborted

    def seqs(self) -> list[int]:
        return [m["seq"] for m in map(orjson.loads, self.written) if "seq" in m]

    def types(self) -> list[str]:
        return [orjson.loads(frame)["t"] for frame in self.written]


@pytest.fixture(params=["server's send", "Starlette's send"])
def peer(request: pytest.FixtureRequest) -> Peer:
    return Peer(through_starlette=request.param == "Starlette's send")


async def connect(peer: Peer, engine: MemoryEngine, queue_bytes: int = 64 * 1024) -> Connection:
    scope = {"type": "websocket", "path": "/ws", "headers": [], SCOPE_KEY: peer}
    if not peer.through_starlette:
        scope[SEND_KEY] = peer.send  # what TransportAccess puts there
    websocket = WebSocket(scope, peer.receive, peer.send)
    await websocket.accept()
    return Connection(websocket, JSON, PLAYER, engine, queue_bytes)


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine(history=100)


@pytest.fixture
async def conn(peer: Peer, engine: MemoryEngine) -> AsyncIterator[Connection]:
    conn = await connect(peer, engine)
    yield conn
    await conn.stop()


def pong(ts: int) -> Pong:
    return Pong(ts=ts, server_time=0, rid=None)


def logged(seq: int) -> Logged:
    return Logged(SESSION, seq, NarrationDelta(nid=NarrationId("r1.entrance"), text=f"{seq}번"))


def deliver(conn: Connection, *seqs: int) -> None:
    for seq in seqs:
        event = logged(seq)
        conn.deliver(event, JSON.encode(event.to_wire()))


def others() -> list[asyncio.Task[Any]]:
    """The tasks running besides the test's own."""
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current]


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.001)  # the writer's turns; bounded above


async def following(conn: Connection, engine: MemoryEngine) -> None:
    """`conn` follows a new table, SESSION, from seq 0 and has caught up (its log is empty)."""
    await engine.create(Table(SESSION, "ABCDEF", seed=1))
    conn.follow(SESSION, after=0)
    await until(lambda: not conn.writing)


async def test_a_reply_is_written_in_the_caller_without_a_task(
    conn: Connection, peer: Peer
) -> None:
    conn.reply(pong(1))
    assert peer.types() == ["pong"]  # no await since: it left in the call
    assert not conn.writing
    assert not others()


async def test_a_live_event_is_written_in_the_fan_out_without_a_task(
    conn: Connection, peer: Peer, engine: MemoryEngine
) -> None:
    await following(conn, engine)
    deliver(conn, 1, 2, 3)
    assert peer.seqs() == [1, 2, 3]
    assert not conn.writing
    assert not others()


async def test_an_idle_socket_has_no_task_queue_or_event_of_its_own(
    conn: Connection, peer: Peer, engine: MemoryEngine
) -> None:
    conn.reply(pong(1))
    await following(conn, engine)
    deliver(conn, 1)
    await conn.drained()
    assert not conn.writing
    assert not others()
    held = gc.get_referents(conn)  # what its slots hold (it has no __dict__)
    assert not [o for o in held if isinstance(o, asyncio.Future | asyncio.Event | deque)]
    assert not hasattr(conn, "__dict__")


async def test_push_back_mid_burst_keeps_the_order_and_the_writer_ends_once_drained(
    conn: Connection, peer: Peer, engine: MemoryEngine
) -> None:
    await following(conn, engine)
    deliver(conn, 1, 2)
    peer.pause()
    deliver(conn, 3)
    conn.reply(pong(7))
    deliver(conn, 4)
    assert peer.seqs() == [1, 2]
    assert conn.writing
    peer.resume()
    deliver(conn, 5)  # the socket has room again, but frames still wait: behind them
    await conn.drained()
    assert peer.types() == ["narration.delta"] * 3 + ["pong"] + ["narration.delta"] * 2
    assert peer.seqs() == [1, 2, 3, 4, 5]
    await until(lambda: not conn.writing)
    deliver(conn, 6)
    assert peer.seqs()[-1] == 6  # written at once again
    assert not others()


async def test_live_events_past_half_the_bound_are_caught_up_from_the_log(
    peer: Peer, engine: MemoryEngine
) -> None:
    conn = await connect(peer, engine, queue_bytes=1024)
    hub = Hub(engine)
    table = Table(SessionId("s_" + secrets.token_hex(4)), "ABCDEF", seed=1)
    await engine.create(table)
    await hub.follow(conn, table.session, after=0)
    await until(lambda: not conn.writing)
    peer.pause()
    for version in range(1, 41):
        event = NarrationDelta(nid=NarrationId("r1.entrance"), text="마라탕 " * 5)
        await engine.commit(table.session, version, table, [event])
    assert len(peer.written) == 0
    peer.resume()
    await until(lambda: not conn.writing)
    assert peer.seqs() == list(range(1, 41))
    await engine.commit(table.session, 41, table, [event])
    assert peer.seqs()[-1] == 41  # live again, and written at once
    await conn.stop()


async def test_a_reply_past_the_bound_marks_the_socket_to_be_closed(
    peer: Peer, engine: MemoryEngine
) -> None:
    conn = await connect(peer, engine, queue_bytes=1024)
    peer.pause()
    for ts in range(100):
        conn.reply(pong(ts))
    assert conn.overflow == "more than 1024 bytes waited for it"
    now = asyncio.get_running_loop().time()
    assert conn.trouble(now, stall=10) == conn.overflow
    await conn.stop()


async def test_a_socket_that_takes_no_byte_for_the_stall_time_is_trouble(
    conn: Connection, peer: Peer
) -> None:
    now = asyncio.get_running_loop().time()
    conn.reply(pong(1))
    assert conn.trouble(now + 60, stall=10) is None  # nothing waited
    peer.pause()
    peer.unsent = 70_000
    conn.reply(pong(2))
    assert conn.trouble(now + 5, stall=10) is None
    peer.unsent = 60_000  # the peer took bytes: the clock starts again
    assert conn.trouble(now + 9, stall=10) is None
    assert conn.trouble(now + 18, stall=10) is None
    assert conn.trouble(now + 20, stall=10) == "it took no byte for 10 s"


async def test_close_aborts_a_socket_whose_close_frame_cannot_leave(
    conn: Connection, peer: Peer
) -> None:
    peer.pause()
    conn.reply(pong(1))
    await conn.close(CloseCode.SLOW_CONSUMER, "slow consumer, resume")
    assert peer.aborted
    assert peer.closed_with is None
    await until(lambda: not conn.writing)  # its send failed with the connection
    conn.reply(pong(2))
    assert peer.written == []


async def test_frames_after_the_close_are_not_written(conn: Connection, peer: Peer) -> None:
    await conn.close(CloseCode.TRY_AGAIN_LATER, "try again later")
    conn.reply(pong(1))
    deliver(conn, 1)
    assert peer.closed_with == CloseCode.TRY_AGAIN_LATER
    assert peer.written == []
    assert not conn.writing


async def test_close_when_drained_lets_the_waiting_error_leave_first(
    conn: Connection, peer: Peer
) -> None:
    peer.pause()
    conn.reply(pong(1))
    closing = asyncio.create_task(conn.close_when_drained(CloseCode.ABUSE, "too many"))
    await asyncio.sleep(0.01)
    peer.resume()
    await closing
    assert peer.types() == ["pong"]
    assert peer.closed_with == CloseCode.ABUSE


async def test_stop_ends_the_writer_of_a_socket_that_pushes_back(
    conn: Connection, peer: Peer
) -> None:
    peer.pause()
    conn.reply(pong(1))
    conn.reply(pong(2))
    assert conn.writing
    await conn.stop()
    assert not conn.writing
    assert not others()
    peer.resume()
    conn.reply(pong(3))
    await asyncio.sleep(0)
    assert peer.written == []


async def test_a_socket_closed_under_a_send_stops_writing(conn: Connection, peer: Peer) -> None:
    peer.abort()
    conn.reply(pong(1))
    conn.reply(pong(2))
    assert peer.written == []
    assert not conn.writing
    assert conn.overflow is None  # gone, not broken: the receive loop sees it go


def test_the_send_path_counts_what_a_frame_takes_on_the_wire() -> None:
    assert outbox.frame_size(b"\x81\x01") == 2
    assert outbox.frame_size('{"t":"pong"}') == 12
    assert outbox.frame_size("마라탕") == 9
