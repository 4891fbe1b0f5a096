"""A small protocol client for tests: real WebSocket, either codec, typed checks of every frame."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from protocol import CODECS, JSON, Codec, parse_server, serialize
from protocol.codec import JSON_SUBPROTOCOL
from protocol.reducer import View, apply_event, own_bowl

Message = dict[str, Any]


async def guest(base_url: str, name: str) -> tuple[str, Message]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/api/auth/guest", json={"name": name})
        response.raise_for_status()
        body = response.json()
        return body["token"], body["player"]


class Client:
    """Keeps every frame it receives (`received`), checked against the protocol's types."""

    opened: ClassVar[list[Client]] = []
    """Every client made, so a test's teardown can close the ones it left open."""

    def __init__(self, socket: ClientConnection, codec: Codec) -> None:
        Client.opened.append(self)
        self.socket = socket
        self.codec = codec
        self.received: list[Message] = []
        self.arrival: list[float] = []
        """When each frame in `received` arrived (seconds since the epoch)."""
        self._taken: set[int] = set()
        self._arrived = asyncio.Event()
        self._rids = itertools.count(1)
        self.bowls: dict[int, Message] = {}
        """The bowls this client sent, by round (the own bowl that no event carries)."""
        self._reader = asyncio.create_task(self._read_loop())
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )

    @classmethod
    async def open(
        cls, ws_url: str, subprotocol: str = JSON_SUBPROTOCOL, tls: ssl.SSLContext | None = None
    ) -> Client:
        socket = await connect(
            ws_url,
            subprotocols=[Subprotocol(subprotocol)],
            compression=None,
            max_size=2**22,
            ssl=tls,
        )
        return cls(socket, CODECS[subprotocol])

    @classmethod
    async def hello(
        cls,
        ws_url: str,
        token: str,
        subprotocol: str = JSON_SUBPROTOCOL,
        resume: tuple[str, int] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> Client:
        client = await cls.open(ws_url, subprotocol, tls)
        hello: Message = {"t": "hello", "token": token}
        if resume is not None:
            hello["resume"] = {"session": resume[0], "seq": resume[1]}
        await client.send(hello)
        await client.wait_for(lambda m: m["t"] == "welcome")
        return client

    async def _read_loop(self) -> None:
        try:
            async for frame in self.socket:
                message = self.codec.decode(frame)
                typed = parse_server(message)  # every frame must be a valid server message
                assert serialize(typed)["t"] == message["t"]
                self.received.append(message)
                self.arrival.append(time.time())
                self._arrived.set()
        finally:
            code = self.socket.close_code
            reason = self.socket.close_reason or ""
            if not self.closed.done():
                self.closed.set_result((code, reason))
            self._arrived.set()

    async def send(self, message: Message) -> None:
        await self.socket.send(self.codec.encode(message))

    async def request(self, t: str, timeout: float = 10, **fields: Any) -> Message:
        """Send a command with a fresh rid; the `ack` or `error` answering it."""
        rid = next(self._rids)
        if t == "bowl.submit":
            self.bowls[fields["round"]] = {
                "ingredients": fields["ingredients"],
                "spice": fields["spice"],
            }
        await self.send({"t": t, "rid": rid, **fields})
        return await self.wait_for(
            lambda m: m["t"] in ("ack", "error") and m.get("rid") == rid, timeout
        )

    async def wait_for(self, match: Callable[[Message], bool], timeout: float = 10) -> Message:
        """The first frame not yet returned by a wait that matches, waiting for it to come."""
        async with asyncio.timeout(timeout):
            while True:
                for index in range(len(self.received)):
                    if index not in self._taken and match(self.received[index]):
                        self._taken.add(index)
                        return self.received[index]
                if self.closed.done():
                    raise ConnectionError(f"socket closed {self.closed.result()} while waiting")
                self._arrived.clear()
                await self._arrived.wait()

    async def caught_up(self, session: str, seq: int, timeout: float = 10) -> None:
        """Waits until an event of `session` at `seq` or later has arrived."""
        async with asyncio.timeout(timeout):
            while not any(
                m.get("session") == session and m.get("seq", 0) >= seq for m in self.received
            ):
                if self.closed.done():
                    raise ConnectionError(f"socket closed {self.closed.result()} while waiting")
                self._arrived.clear()
                await self._arrived.wait()

    def arrived_at(self, message: Message) -> float:
        return self.arrival[next(i for i, m in enumerate(self.received) if m is message)]

    def events(self, session: str) -> list[Message]:
        """The session events received (not syncs), in arrival order."""
        return [
            m
            for m in self.received
            if m.get("session") == session and "seq" in m and m["t"] != "sync"
        ]

    def view(self, session: str, me: str, upto: int | None = None) -> View:
        """The table as this client keeps it, with the reference reducer: its last `sync` of
        the session, then the session's events after it (up to `upto`), which must come
        without a gap."""
        view: View | None = None
        seq = 0
        for m in self.received:
            if m.get("session") != session or "seq" not in m:
                continue
            if upto is not None and m["seq"] > upto:
                break
            if m["t"] == "sync":
                view, seq = m["state"], m["seq"]
            elif m["seq"] > seq and view is not None:
                assert m["seq"] == seq + 1, f"a gap after seq {seq}: {m}"
                view, seq = apply_event(view, m), m["seq"]
                if m["t"] == "bowl.submitted" and m["player"] == me:
                    view = own_bowl(view, self.bowls[m["round"]])
        assert view is not None, "no sync of this session arrived"
        return view

    @classmethod
    async def close_all(cls) -> None:
        while cls.opened:
            await cls.opened.pop().close()

    async def close(self) -> None:
        await self.socket.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader

    async def drop(self) -> None:
        """Vanish without a close handshake, as a phone losing its network would."""
        self.socket.transport.abort()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


def without_nulls(value: Any) -> Any:
    """A wire value with null fields dropped: to a client, absent and null mean the same."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def seqs(messages: list[Message]) -> list[int]:
    return [m["seq"] for m in messages]


__all__ = ["JSON", "Client", "guest", "seqs", "without_nulls"]
