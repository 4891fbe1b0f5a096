"""Many hub processes on one Redis: any process serves any player, and none is needed."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL
from tests.realtime.conftest import BOWLS, Seat, Table, play_round
from tests.support.client import Client, Message, guest, seqs
from tests.support.redis import REDIS_URL, PrivateRedis, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server

FAST = ("--fallback-tps", "400")
SLOW = ("--fallback-tps", "30")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = throwaway_prefix()
    yield value
    await delete_prefix(value)


@pytest.fixture(params=["redis", "cluster"])
async def engine_url(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[str]:
    """One Redis, or a 3-master Redis Cluster: each process of the test is a hub node on it."""
    if request.param == "redis":
        yield REDIS_URL
        return
    url: str = request.getfixturevalue("redis_cluster_url")
    yield url
    await delete_prefix(prefix, url)


CLUSTER_SECRET = secrets.token_hex(32)
"""Every process of a deployment shares one secret: a token signed by one is good on all."""


def cluster_env(prefix: str, **extra: str) -> dict[str, str]:
    return {
        "MARATANG_REDIS_PREFIX": prefix,
        "MARATANG_COALESCE_MS": "20",
        "MARATANG_SECRET": CLUSTER_SECRET,
        **extra,
    }


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as servers:
        yield servers


def start(stack: ExitStack, prefix: str, *flags: str, url: str = REDIS_URL, **env: str) -> Server:
    return stack.enter_context(
        running_server("--engine", url, *flags, env=cluster_env(prefix, **env))
    )


async def seat_at(server: Server, name: str, subprotocol: str = JSON_SUBPROTOCOL) -> Seat:
    token, player = await guest(server.base_url, name)
    return Seat(await Client.hello(server.ws_url, token, subprotocol), player, token)


async def table_across(servers: list[Server], names: list[str], rounds: int = 2) -> Table:
    """A table whose players sit on different processes (the first player hosts)."""
    seats = [
        await seat_at(
            servers[i % len(servers)], name, [JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL][i % 2]
        )
        for i, name in enumerate(names)
    ]
    ack = await seats[0].client.request(
        "session.create", settings={"rounds": rounds, "seconds": 60}
    )
    await seats[0].client.wait_for(lambda m: m["t"] == "sync")
    for seat in seats[1:]:
        assert (await seat.client.request("session.join", code=ack["code"]))["t"] == "ack"
        await seat.client.wait_for(lambda m: m["t"] == "sync")
    return Table(ack["session"], ack["code"], seats)


def assert_same_gapless_logs(logs: list[list[Message]]) -> None:
    for log in logs:
        assert seqs(log) == list(range(log[0]["seq"], log[-1]["seq"] + 1)), "gap or repeat"
    first = max(log[0]["seq"] for log in logs)
    last = min(log[-1]["seq"] for log in logs)
    assert last - first > 5, "the logs hardly overlap"
    shared = [[m for m in log if first <= m["seq"] <= last] for log in logs]
    assert all(part == shared[0] for part in shared), "players saw different events"


async def test_players_on_two_processes_play_one_game_and_see_the_same_log(
    stack: ExitStack, prefix: str, engine_url: str
) -> None:
    servers = [
        start(stack, prefix, *FAST, url=engine_url),
        start(stack, prefix, *FAST, url=engine_url),
    ]
    table = await table_across(servers, ["민지", "Alex", "서준"])
    await table.host.request("game.start")
    for number in (1, 2):
        await play_round(table, number)
    for seat in table.seats:
        await seat.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30)
    assert_same_gapless_logs([s.client.events(table.session) for s in table.seats])


async def test_a_player_whose_process_dies_mid_narration_resumes_on_another(
    stack: ExitStack, prefix: str, engine_url: str
) -> None:
    host_side, doomed = (
        start(stack, prefix, *SLOW, url=engine_url),
        start(stack, prefix, *SLOW, url=engine_url),
    )
    table = await table_across([host_side, doomed], ["민지", "Alex"], rounds=1)
    alex = table.seats[1]
    await table.host.request("game.start")  # the narration runs on the host's process
    await alex.client.wait_for(lambda m: m["t"] == "narration.delta")
    doomed.process.send_signal(signal.SIGKILL)
    await alex.client.closed
    before = alex.client.events(table.session)

    back = await Client.hello(
        host_side.ws_url, alex.token, resume=(table.session, before[-1]["seq"])
    )
    assert back.received[0]["session"] == table.session
    end = await back.wait_for(lambda m: m["t"] == "narration.end", 30)
    after = back.events(table.session)
    assert not any(m["t"] == "sync" for m in back.received)
    told = "".join(m["text"] for m in before + after if m["t"] == "narration.delta")
    assert told == end["text"]
    assert_same_gapless_logs([before + after, table.host.events(table.session)])


async def test_a_narration_whose_process_dies_is_finished_by_another(
    stack: ExitStack, prefix: str, engine_url: str
) -> None:
    env = {"MARATANG_NARRATION_LEASE": "1", "MARATANG_PRESENCE_TTL": "2"}
    doomed = start(stack, prefix, *SLOW, **env, url=engine_url)
    survivor = start(stack, prefix, *SLOW, **env, url=engine_url)
    table = await table_across([doomed, survivor], ["민지", "Alex"], rounds=1)
    host, alex = table.seats
    await host.client.request("game.start")  # the entrance is told by the doomed process
    await alex.client.wait_for(lambda m: m["t"] == "narration.delta")
    doomed.process.send_signal(signal.SIGKILL)

    end = await alex.client.wait_for(lambda m: m["t"] == "narration.end", 30)
    deltas = [m for m in alex.client.events(table.session) if m["t"] == "narration.delta"]
    assert "".join(m["text"] for m in deltas) == end["text"]
    assert end["text"].endswith("시작해 볼까요?")  # told to its end
    assert end["source"] == "fallback"
    assert "taking over narration r1.entrance" in "".join(survivor.output)

    # The host comes back on the surviving process and the game goes on to its end.
    last = host.client.events(table.session)[-1]["seq"]
    back = await Client.hello(survivor.ws_url, host.token, resume=(table.session, last))
    for client in (back, alex.client):
        answer = await client.request("bowl.submit", round=1, ingredients=BOWLS[0], spice=2)
        assert answer["t"] == "ack", answer
    over = await alex.client.wait_for(lambda m: m["t"] == "game.over", 30)
    assert over == await back.wait_for(lambda m: m["t"] == "game.over", 30)
    assert_same_gapless_logs([alex.client.events(table.session), back.events(table.session)])


async def test_four_workers_close_each_round_exactly_once(
    stack: ExitStack, prefix: str, engine_url: str
) -> None:
    server = start(stack, prefix, *FAST, "--workers", "4", url=engine_url)
    tables = []
    for n in range(3):
        seat = await seat_at(server, f"혼밥{n}")
        ack = await seat.client.request("session.create", settings={"rounds": 1, "seconds": 15})
        tables.append((ack["session"], seat))
        await seat.client.request("game.start")
    for session, seat in tables:
        resolved = await seat.client.wait_for(lambda m: m["t"] == "round.resolved", 30)
        assert resolved["session"] == session
    for _, seat in tables:
        await seat.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "r1.tasting")
    output = "".join(server.output)
    pids = set(re.findall(r"Started server process \[(\d+)\]", output))
    assert len(pids) == 4
    for session, seat in tables:
        fired = re.findall(rf"deadline round 1 of {re.escape(session)} fired", output)
        assert len(fired) == 1, output
        assert sum(1 for m in seat.client.received if m["t"] == "round.resolved") == 1


async def answered(client: Client, t: str, **fields: Any) -> Message:
    """The ack of a command, resent while the server answers `busy` (its store is away)."""
    async with asyncio.timeout(30):
        while True:
            answer = await client.request(t, **fields)
            if answer.get("code") != "busy":
                return answer
            assert answer["retry"] is True


async def test_the_game_goes_on_after_redis_restarts(
    stack: ExitStack, prefix: str, tmp_path: Path
) -> None:
    store = PrivateRedis(tmp_path)
    store.start()
    stack.callback(store.stop)
    env = {"MARATANG_NARRATION_LEASE": "1"}
    servers = [start(stack, prefix, *SLOW, url=store.url, **env) for _ in range(2)]
    table = await table_across(servers, ["민지", "Alex"], rounds=2)
    await table.host.request("game.start")
    for seat in table.seats:
        await seat.client.wait_for(lambda m: m["t"] == "narration.delta")

    store.kill()  # mid-narration
    refused = await table.seats[1].client.request(
        "bowl.submit", round=1, ingredients=BOWLS[1], spice=1
    )
    assert (refused["code"], refused["retry"]) == ("busy", True)
    late = await Client.open(servers[0].ws_url)  # a player coming back during the outage
    await late.send(
        {
            "t": "hello",
            "token": table.seats[1].token,
            "resume": {"session": table.session, "seq": 1},
        }
    )
    assert (await late.closed)[0] == 1013  # try again later
    assert late.received[-1]["code"] == "busy"
    store.start()  # the same data directory: the AOF brings every commit back

    for number in (1, 2):
        for i, seat in enumerate(table.seats):
            started = await seat.client.wait_for(lambda m: m["t"] == "round.started", 30)
            assert started["round"] == number
            answer = await answered(
                seat.client, "bowl.submit", round=number, ingredients=BOWLS[i], spice=2
            )
            assert answer["t"] == "ack", answer
    for seat in table.seats:
        await seat.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 60)
    assert_same_gapless_logs([s.client.events(table.session) for s in table.seats])
    entrance = next(
        m
        for m in table.host.events(table.session)
        if m["t"] == "narration.end" and m["nid"] == "r1.entrance"
    )
    told = [
        m["text"]
        for m in table.host.events(table.session)
        if m["t"] == "narration.delta" and m["nid"] == "r1.entrance"
    ]
    assert "".join(told) == entrance["text"]


async def test_players_of_a_dead_process_are_marked_away_then_lose_their_seats(
    stack: ExitStack, prefix: str, engine_url: str
) -> None:
    env = {"MARATANG_PRESENCE_TTL": "1"}
    survivor = start(stack, prefix, *FAST, "--grace-seconds", "1", **env, url=engine_url)
    doomed = start(stack, prefix, *FAST, "--grace-seconds", "1", **env, url=engine_url)
    table = await table_across([survivor, doomed], ["민지", "Alex"], rounds=1)
    alex = table.seats[1].player["id"]
    doomed.process.send_signal(signal.SIGKILL)  # no socket closes cleanly on the server side
    away = await table.host.wait_for(lambda m: m["t"] == "player.away", 15)
    left = await table.host.wait_for(lambda m: m["t"] == "player.left", 15)
    assert away["player"] == left["player"] == alex
    assert left["reason"] == "timeout"
    assert left["seq"] == away["seq"] + 1
