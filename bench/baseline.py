"""The baseline of the fan-out benchmarks: a minimal Starlette broadcast loop.

Rooms are a dict of sets of sockets; a publisher per room encodes each frame once and calls
`send_bytes` for every socket in turn. No protocol, no rules, no engine: the least a
Starlette hub can do per delivered frame. Run by `bench/fanout.py` and
`bench/token_fanout.py`, never in production.

Frames (MessagePack): the client sends `{t: "join", room, rid?}` (answered `{t: "ack", rid}`),
`{t: "start"}` to start its room's publisher, and `{t: "ping", ts}` at will (answered
`{t: "pong", ts}`). Each publisher sends `{t: "narration.delta", session, seq, nid, text, ts}`
at BENCH_RATE frames/s on a fixed schedule (frame n is due n / BENCH_RATE s after the
start, and `ts` is that due time, epoch seconds), one short token of text per frame; every
BENCH_NARRATION frames (0: never) `nid` changes, as a narration would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import msgpack
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

RATE = float(os.environ.get("BENCH_RATE", "25"))
NARRATION = int(os.environ.get("BENCH_NARRATION", "0"))
rooms: dict[str, set[WebSocket]] = {}
publishers: dict[str, asyncio.Task[None]] = {}


async def publish(room: str) -> None:
    seq = 0
    interval = 1 / RATE
    loop = asyncio.get_running_loop()
    began = loop.time()
    wall = time.time() - began
    while True:
        due = began + seq * interval
        await asyncio.sleep(max(0.0, due - loop.time()))
        nid = f"n{seq // NARRATION}" if NARRATION else "r1.entrance"
        seq += 1
        frame = msgpack.packb(
            {
                "t": "narration.delta",
                "session": room,
                "seq": seq,
                "nid": nid,
                "text": "마라",
                "ts": wall + due,
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
                await websocket.send_bytes(msgpack.packb({"t": "ack", "rid": message.get("rid")}))
            elif message["t"] == "start" and room is not None:
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
