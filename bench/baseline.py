"""The baseline of the fan-out benchmark: a minimal Starlette broadcast loop.

Rooms are a dict of sets of sockets; a publisher per room encodes each event once and calls
`send_bytes` for every socket in turn. No protocol, no rules, no engine: the least a
Starlette hub can do per delivered event. Run by `bench/fanout.py`, never in production.

Frames (MessagePack): the client sends `{t: "join", room}` then `{t: "ping", ts}` at will;
the server sends `{t: "narration.delta", session, seq, nid, text}` at BENCH_RATE events/s
per room and answers pings with `{t: "pong", ts}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import msgpack
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

RATE = float(os.environ.get("BENCH_RATE", "25"))
rooms: dict[str, set[WebSocket]] = {}
publishers: dict[str, asyncio.Task[None]] = {}


async def publish(room: str) -> None:
    seq = 0
    interval = 1 / RATE
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        seq += 1
        frame = msgpack.packb(
            {
                "t": "narration.delta",
                "session": room,
                "seq": seq,
                "nid": "r1.entrance",
                "text": "마라탕이",
            }
        )
        for socket in tuple(rooms.get(room, ())):
            with contextlib.suppress(Exception):
                await socket.send_bytes(frame)


async def endpoint(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="maratang.v1.msgpack")
    room = None
    try:
        while True:
            message = msgpack.unpackb(await websocket.receive_bytes())
            if message["t"] == "join":
                room = message["room"]
                rooms.setdefault(room, set()).add(websocket)
                if RATE > 0 and room not in publishers:
                    publishers[room] = asyncio.create_task(publish(room))
            elif message["t"] == "ping":
                await websocket.send_bytes(msgpack.packb({"t": "pong", "ts": message["ts"]}))
    except WebSocketDisconnect:
        pass
    finally:
        if room is not None:
            rooms[room].discard(websocket)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    for task in publishers.values():
        task.cancel()


app = Starlette(routes=[WebSocketRoute("/ws", endpoint)], lifespan=lifespan)
