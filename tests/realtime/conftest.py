"""End-to-end fixtures: a real `maratang serve` process and real WebSocket clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL
from tests.support.client import Client, Message, guest
from tests.support.redis import PrivateRedis, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server, sockets_held

FAST = ("--fallback-tps", "400")
FAST_ENV = {"MARATANG_COALESCE_MS": "20"}
PASSWORD = "hunter2-" + "s3cr3t"
"""A password the tests give in URLs: no log line and no answer may ever show it."""


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    await Client.close_all()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A throwaway key prefix on the tests' Redis, emptied after the test."""
    value = throwaway_prefix()
    yield value
    await delete_prefix(value)


@pytest.fixture
def server() -> Iterator[Server]:
    with running_server(*FAST, env=FAST_ENV) as running:
        yield running


@pytest.fixture
def guarded_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of the test's own that asks for `PASSWORD`."""
    store = PrivateRedis(tmp_path, password=PASSWORD)
    store.start()
    yield store
    store.stop()


@dataclass
class Seat:
    client: Client
    player: Message
    token: str


@dataclass
class Table:
    session: str
    code: str
    seats: list[Seat]

    @property
    def host(self) -> Client:
        return self.seats[0].client


async def sit(server: Server, name: str, subprotocol: str = JSON_SUBPROTOCOL) -> Seat:
    token, player = await guest(server.base_url, name)
    return Seat(await Client.hello(server.ws_url, token, subprotocol), player, token)


async def open_table(server: Server, names: list[str], rounds: int = 2, seconds: int = 60) -> Table:
    """A table with `names` seated, the first as host; players alternate JSON and msgpack."""
    protocols = [JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL]
    seats = [await sit(server, name, protocols[i % 2]) for i, name in enumerate(names)]
    ack = await seats[0].client.request(
        "session.create", settings={"rounds": rounds, "seconds": seconds}
    )
    assert ack["t"] == "ack", ack
    await seats[0].client.wait_for(lambda m: m["t"] == "sync")
    for seat in seats[1:]:
        joined = await seat.client.request("session.join", code=ack["code"])
        assert joined["t"] == "ack", joined
        await seat.client.wait_for(lambda m: m["t"] == "sync")  # seated before anything else
    return Table(ack["session"], ack["code"], seats)


@pytest.fixture
async def pair(server: Server) -> Table:
    return await open_table(server, ["민지", "Alex"])


BOWLS = [
    ["bok_choy", "enoki", "beef"],
    ["fish_balls", "dumplings", "shrimp", "quail_eggs"],
    ["corn_noodles", "lotus_root", "fried_tofu", "lamb", "wood_ear"],
]


async def play_round(table: Table, number: int) -> None:
    for i, seat in enumerate(table.seats):
        await seat.client.wait_for(lambda m: m["t"] == "round.started" and m["round"] == number)
        answer = await seat.client.request(
            "bowl.submit", round=number, ingredients=BOWLS[i % len(BOWLS)], spice=i % 5
        )
        assert answer["t"] == "ack", answer


async def play_game(table: Table, rounds: int) -> list[str]:
    """Start the game and play its `rounds`; the narrations told, as every player saw them
    end (the finale last)."""
    assert (await table.host.request("game.start"))["t"] == "ack"
    for number in range(1, rounds + 1):
        await play_round(table, number)
    for seat in table.seats:
        await seat.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30)
    return [m["nid"] for m in table.host.received if m["t"] == "narration.end"]


async def leave_one_by_one(table: Table) -> None:
    """Close the sockets of a finished game one after another, each once the players still
    there heard that the one before is away: every frame the server sends is read."""
    for i, seat in enumerate(table.seats):
        await seat.client.close()
        for other in table.seats[i + 1 :]:
            await other.client.wait_for(away(seat.player["id"]))


def away(player: str) -> Callable[[Message], bool]:
    return lambda m: m["t"] == "player.away" and m["player"] == player


async def until_started(server: Server, workers: int, seconds: float = 15.0) -> None:
    """Wait until the server's output says `workers` workers started: a worker may serve
    before the line that says so has been read from its output."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(server.workers()) < workers:
        assert loop.time() < deadline, f"{len(server.workers())} of {workers} workers started"
        await asyncio.sleep(0.05)


async def both_workers_hold_sockets(server: Server, most: int = 20) -> list[Client]:
    """Sockets past their hello until each worker holds one (the kernel hands a new socket
    to whichever worker accepts first)."""
    await until_started(server, 2)
    clients: list[Client] = []
    while not clients or any(sockets_held(pid, server.port) == 0 for pid in server.workers()):
        assert len(clients) < most, "every socket went to one worker"
        token, _ = await guest(server.base_url, f"관객{len(clients)}")
        clients.append(await Client.hello(server.ws_url, token))
    return clients
