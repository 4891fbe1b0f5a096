"""Records end to end: `maratang serve --database-url` against the real PostgreSQL, the records
API, a database outage mid-game, and a table restored from its snapshot."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from protocol.types import SessionId, game_id
from tests.realtime.conftest import Table, open_table, play_round, sit
from tests.realtime.test_many_processes import cluster_env, table_across
from tests.support.client import Client, guest
from tests.support.metrics import scrape, total, until_total
from tests.support.postgres import count, database_url
from tests.support.proxy import Proxy
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server

FAST = ("--fallback-tps", "400")
BOWL = ["bok_choy", "enoki", "beef"]
ENV = {"MARATANG_COALESCE_MS": "20", "MARATANG_SNAPSHOT_SECONDS": "0.2"}


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as servers:
        yield servers


def serve(stack: ExitStack, url: str, *flags: str, **env: str) -> Server:
    return stack.enter_context(
        running_server(*FAST, "--database-url", url, *flags, env={**ENV, **env})
    )


def on_redis(stack: ExitStack, database: str, prefix: str) -> tuple[Server, str]:
    """A server keeping its live tables in Redis under `prefix` and its records in
    `database`; the server and the database's URL."""
    url = database_url(database)
    return serve(stack, url, "--engine", REDIS_URL, MARATANG_REDIS_PREFIX=prefix), url


async def play_game(server: Server, names: list[str], rounds: int = 2) -> tuple[Table, str]:
    table = await open_table(server, names, rounds=rounds)
    assert (await table.host.request("game.start"))["t"] == "ack"
    for number in range(1, rounds + 1):
        await play_round(table, number)
    over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
    await table.host.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30)
    return table, over["game"]


async def get(server: Server, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(server.base_url + path)


async def recorded(server: Server, game: str, timeout: float = 20) -> dict[str, Any]:
    """The game's record once it is complete (the records are written behind the game)."""
    async with asyncio.timeout(timeout):
        while True:
            answer = await get(server, f"/api/games/{game}")
            record = answer.json() if answer.status_code == 200 else None
            if record is not None and record["finale"] is not None:
                return dict(record)
            await asyncio.sleep(0.05)


def assert_complete(record: dict[str, Any], table: Table, rounds: int) -> None:
    names = {seat.player["name"] for seat in table.seats}
    assert {p["name"] for p in record["players"]} == names
    assert [r["round"] for r in record["rounds"]] == list(range(1, rounds + 1))
    for entry in record["rounds"]:
        assert entry["customer"]["name"]
        assert len(entry["results"]) == len(names)
        assert all("score" in r and "bowl" in r for r in entry["results"])
        assert [n["kind"] for n in entry["narrations"]] == ["entrance", "tasting"]
        assert all(n["text"] and n["source"] == "fallback" for n in entry["narrations"])
    assert record["finale"]["kind"] == "finale"


async def test_a_finished_game_is_readable_through_the_api(database: str, stack: ExitStack) -> None:
    server = serve(stack, database_url(database))
    assert "records: PostgreSQL at" in "".join(server.output)
    table, game = await play_game(server, ["민지", "Alex"])
    record = await recorded(server, game)
    assert_complete(record, table, 2)
    over = next(m for m in table.host.events(table.session) if m["t"] == "game.over")
    assert record["ranking"] == over["ranking"]
    assert record["id"] == game
    assert record["session"] == table.session
    totals = {r["player"]: 0 for r in over["ranking"]}
    for entry in record["rounds"]:
        for result in entry["results"]:
            totals[result["player"]] += result["score"]
    assert totals == {r["player"]: r["total"] for r in over["ranking"]}

    player = table.seats[0].player["id"]
    mine = (await get(server, f"/api/players/{player}/games")).json()
    assert [g["id"] for g in mine["games"]] == [game]
    assert mine["next"] is None


async def test_a_players_games_are_paged_newest_first(database: str, stack: ExitStack) -> None:
    server = serve(stack, database_url(database))
    games = []
    token_table = await open_table(server, ["민지"], rounds=1)
    player = token_table.seats[0].player["id"]
    token = token_table.seats[0].token
    await token_table.host.request("session.leave")
    for _ in range(3):
        client = await Client.hello(server.ws_url, token)
        ack = await client.request("session.create", settings={"rounds": 1, "seconds": 60})
        await client.wait_for(lambda m: m["t"] == "sync")
        await client.request("game.start")
        await client.wait_for(lambda m: m["t"] == "round.started")
        await client.request("bowl.submit", round=1, ingredients=BOWL, spice=1)
        over = await client.wait_for(lambda m: m["t"] == "game.over", 30)
        await client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30)
        await client.request("session.leave")
        games.append(over["game"])
        assert ack["t"] == "ack"
    for game in games:
        await recorded(server, game)
    first = (await get(server, f"/api/players/{player}/games?limit=2")).json()
    assert [g["id"] for g in first["games"]] == games[::-1][:2]
    assert first["next"] is not None
    rest = (await get(server, f"/api/players/{player}/games?limit=2&before={first['next']}")).json()
    assert [g["id"] for g in rest["games"]] == [games[0]]
    assert rest["next"] is None
    assert all(g["players"] == 1 and g["place"] == 1 for g in first["games"] + rest["games"])


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/games/g_nosuchgame12", 404, None),
        ("/api/games/not-a-game", 400, "id"),
        ("/api/games/g_" + "x" * 80, 400, "id"),
        ("/api/players/bob/games", 400, "id"),
        ("/api/players/p_abc/games?limit=0", 400, "limit"),
        ("/api/players/p_abc/games?limit=51", 400, "limit"),
        ("/api/players/p_abc/games?limit=ten", 400, "limit"),
        ("/api/players/p_abc/games?before=-5", 400, "before"),
        ("/api/players/p_abc/games?before=yesterday", 400, "before"),
    ],
)
async def test_bad_record_requests_get_json_errors(
    database: str, stack: ExitStack, path: str, status: int, field: str | None
) -> None:
    server = serve(stack, database_url(database))
    answer = await get(server, path)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["message"]
    assert error.get("field") == field


async def test_without_a_database_the_server_says_so_and_the_api_is_unavailable(
    server: Server,
) -> None:
    assert "records: not persisted" in "".join(server.output)
    answer = await get(server, "/api/games/g_abcdefabcdef")
    assert answer.status_code == 503
    assert "without a database" in answer.json()["error"]["message"]


async def test_nothing_is_lost_or_doubled_when_the_database_goes_away_mid_game(
    database: str, stack: ExitStack
) -> None:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        server = serve(stack, database_url(database, proxy.port))
        table = await open_table(server, ["민지", "Alex", "서준"], rounds=3)
        await table.host.request("game.start")
        await play_round(table, 1)
        await table.host.wait_for(lambda m: m["t"] == "round.resolved", 30)
        await proxy.cut()  # the database is gone for the rest of the game
        await play_round(table, 2)
        await play_round(table, 3)
        over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
        await table.host.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale")
        await until_logged(server, "records: the database is unreachable")
        await proxy.restore()
        record = await recorded(server, over["game"], timeout=30)
    finally:
        await proxy.close()
    assert_complete(record, table, 3)
    url = database_url(database)
    game = over["game"]
    assert await count(url, "SELECT count(*) FROM game_rounds WHERE game_id = $1", game) == 3
    assert await count(url, "SELECT count(*) FROM game_narrations WHERE game_id = $1", game) == 7
    assert await count(url, "SELECT count(*) FROM game_players WHERE game_id = $1", game) == 3
    assert await count(url, "SELECT count(*) FROM games") == 1
    last = table.host.events(table.session)[-1]["seq"]
    await until_snapshot(url, table.session, last)  # the newest state arrived too


async def test_a_narration_ended_by_a_process_killed_before_it_wrote_it_is_recorded(
    database: str, prefix: str, stack: ExitStack
) -> None:
    """Two processes on one Redis; the one that tells (and ends) the entrance is SIGKILLed
    while its record waits in its memory (the database is away, so it waits long enough to
    be killed for sure). The other process stores it from the table's log all the same."""
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        url = database_url(database, proxy.port)
        flags = ("--engine", REDIS_URL)
        doomed, survivor = (serve(stack, url, *flags, **cluster_env(prefix)) for _ in "ab")
        table = await table_across([doomed, survivor], ["민지", "Alex"], rounds=1)
        host, alex = table.seats
        await proxy.cut()
        await host.client.request("game.start")  # the entrance is told by the host's process
        end = await alex.client.wait_for(lambda m: m["t"] == "narration.end", 30)
        doomed.process.send_signal(signal.SIGKILL)
        await proxy.restore()
        told = await until_told(database_url(database), table.session, "r1.entrance")
    finally:
        await proxy.close()
    assert told == end["text"]
    assert "can no longer be read back" not in "".join(survivor.output)


async def until_told(url: str, session: str, nid: str, timeout: float = 30) -> str:
    """The text recorded of narration `nid` of `session`'s game, once it is (another process
    stores it)."""
    game = game_id(SessionId(session))
    async with asyncio.timeout(timeout):
        while True:
            db = await asyncpg.connect(url)
            try:
                text = await db.fetchval(
                    "SELECT text FROM game_narrations WHERE game_id = $1 AND nid = $2", game, nid
                )
            finally:
                await db.close()
            if text is not None:
                return str(text)
            await asyncio.sleep(0.1)


async def until_logged(server: Server, text: str, timeout: float = 20) -> None:
    """Until the server (another process) has logged `text`: its output is read again."""
    async with asyncio.timeout(timeout):
        while True:
            if text in "".join(server.output):
                return
            await asyncio.sleep(0.05)


async def until_snapshot(url: str, session: str, seq: int, timeout: float = 10) -> None:
    """Until the stored snapshot of `session` is at `seq` or later (another process writes it)."""
    query = "SELECT coalesce(max(seq), 0)::int FROM session_snapshots WHERE session_id = $1"
    async with asyncio.timeout(timeout):
        while True:
            if await count(url, query, session) >= seq:
                return
            await asyncio.sleep(0.05)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = throwaway_prefix()
    yield value
    await delete_prefix(value)


async def in_round_two(server: Server, url: str) -> tuple[Table, dict[str, Any]]:
    """A two-player, two-round table in round 2 (its entrance told), stored at least up to
    round 2's start; the table and its `round.started`."""
    table = await open_table(server, ["민지", "Alex"], rounds=2)
    await table.host.request("game.start")
    await play_round(table, 1)
    started = await table.host.wait_for(lambda m: m["t"] == "round.started" and m["round"] == 2, 30)
    await table.host.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "r2.entrance")
    await until_snapshot(url, table.session, started["seq"])  # written every 0.2 s
    return table, started


async def test_a_table_lost_from_redis_is_restored_from_its_snapshot(
    database: str, prefix: str, stack: ExitStack
) -> None:
    server, url = on_redis(stack, database, prefix)
    table, _ = await in_round_two(server, url)

    assert await delete_prefix(prefix) > 0  # Redis lost everything
    seat = table.seats[0]
    seen = seat.client.events(table.session)[-1]["seq"]
    await seat.client.drop()
    back = await Client.hello(server.ws_url, seat.token, resume=(table.session, seen))
    welcome = next(m for m in back.received if m["t"] == "welcome")
    assert welcome["session"] == table.session
    sync = await back.wait_for(lambda m: m["t"] == "sync")
    assert sync["state"]["restored"] is True
    assert (sync["state"]["phase"], sync["state"]["round"]) == ("picking", 2)
    assert sync["seq"] > seen  # new events never reuse the numbers of lost ones
    await server.until_said("restored")

    # The other player never left: their socket is resynced as the restored table moves on.
    other = table.seats[1].client
    for client in (back, other):
        answer = await client.request("bowl.submit", round=2, ingredients=BOWL, spice=1)
        assert answer["t"] == "ack", answer
    resynced = await other.wait_for(lambda m: m["t"] == "sync" and m["seq"] > seen)
    assert resynced["state"]["round"] == 2
    over = await back.wait_for(lambda m: m["t"] == "game.over", 30)
    assert {r["name"] for r in over["ranking"]} == {"민지", "Alex"}


async def test_a_stopping_server_writes_what_is_waiting(database: str) -> None:
    url = database_url(database)
    env = {**ENV, "MARATANG_SNAPSHOT_SECONDS": "600"}  # only the stop will write it
    with running_server(*FAST, "--database-url", url, env=env) as server:
        table = await open_table(server, ["민지", "Alex"])
        last = max(m["seq"] for m in table.host.received if "seq" in m)
        query = "SELECT count(*)::int FROM session_snapshots WHERE session_id = $1"
        assert await count(url, query, table.session) == 0
        await Client.close_all()
    seq = await count(
        url, "SELECT seq::int FROM session_snapshots WHERE session_id = $1", table.session
    )
    assert seq >= last  # (the players going away after it are in it too)
    assert await count(url, "SELECT count(*)::int FROM players") == 2


async def test_the_api_says_try_again_while_the_database_is_unreachable(
    database: str, stack: ExitStack
) -> None:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        server = serve(stack, database_url(database, proxy.port))
        assert (await get(server, "/api/games/g_abcdefabcdef")).status_code == 404
        await proxy.cut()
        answer = await get(server, "/api/games/g_abcdefabcdef")
        page = await get(server, "/api/players/p_abcdefabcdef/games")
    finally:
        await proxy.close()
    for response in (answer, page):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["message"] == "the records database is unreachable"


async def lose_and_resume(
    server: Server, table: Table, prefix: str, url: str, token: str
) -> list[dict[str, Any]]:
    """Redis loses everything; a socket of `token` resumes the table; what it got."""
    last = table.host.events(table.session)[-1]["seq"]
    await until_snapshot(url, table.session, last)
    assert await delete_prefix(prefix) > 0
    client = await Client.hello(server.ws_url, token, resume=(table.session, last))
    return client.received


async def table_keys(prefix: str, table: Table) -> int:
    """How many of the table's live keys (its state, log and join code) Redis holds."""
    client = Redis.from_url(REDIS_URL)
    try:
        names = (f"s:{table.session}", f"log:{table.session}", f"code:{table.code}")
        return int(await client.exists(*(prefix + name for name in names)))
    finally:
        await client.aclose()


async def test_a_stranger_naming_a_stored_table_does_not_bring_it_back(
    database: str, prefix: str, stack: ExitStack
) -> None:
    server, url = on_redis(stack, database, prefix)
    table = await open_table(server, ["민지", "Alex"])
    stranger, _ = await guest(server.base_url, "낯선이")
    received = await lose_and_resume(server, table, prefix, url, stranger)
    assert received[0]["t"] == "welcome"
    assert received[0].get("session") is None
    assert not server.said("restored")
    assert await table_keys(prefix, table) == 0  # nothing was written back: no table, no code


async def test_a_finished_table_is_never_brought_back(
    database: str, prefix: str, stack: ExitStack
) -> None:
    server, url = on_redis(stack, database, prefix)
    table, _ = await play_game(server, ["민지"], rounds=1)
    received = await lose_and_resume(server, table, prefix, url, table.seats[0].token)
    assert received[0].get("session") is None  # seated, but the game is over
    assert await table_keys(prefix, table) == 0


async def test_a_table_lost_while_its_players_are_connected_goes_on_without_a_reload(
    database: str, prefix: str, stack: ExitStack
) -> None:
    url = database_url(database)
    env = cluster_env(prefix, **ENV)
    one, two = (serve(stack, url, "--engine", REDIS_URL, **env) for _ in range(2))
    host = await sit(one, "민지")
    created = await host.client.request("session.create", settings={"rounds": 2})
    other = await sit(two, "Alex")  # the other player on the other process
    assert (await other.client.request("session.join", code=created["code"]))["t"] == "ack"
    for seat in (host, other):
        await seat.client.wait_for(lambda m: m["t"] == "sync")  # seated before anything else
    table = Table(created["session"], created["code"], [host, other])
    await host.client.request("game.start")
    await play_round(table, 1)
    started = await host.client.wait_for(lambda m: m["t"] == "round.started" and m["round"] == 2)
    await until_snapshot(url, table.session, started["seq"])

    assert await delete_prefix(prefix) > 0  # a FLUSHALL, a failover to an empty replica
    for seat in (host, other):  # nobody sends anything, nobody reconnects: both are resynced
        sync = await seat.client.wait_for(
            lambda m: m["t"] == "sync" and m["seq"] > started["seq"], 15
        )
        assert sync["state"]["restored"] is True
        assert (sync["state"]["phase"], sync["state"]["round"]) == ("picking", 2)
    for seat in (host, other):
        answer = await seat.client.request("bowl.submit", round=2, ingredients=BOWL, spice=1)
        assert answer["t"] == "ack", answer
    over = await host.client.wait_for(lambda m: m["t"] == "game.over", 30)
    assert {r["name"] for r in over["ranking"]} == {"민지", "Alex"}
    assert not host.client.closed.done()
    assert not other.client.closed.done()


async def test_a_command_on_a_lost_table_brings_it_back_at_once(
    database: str, prefix: str, stack: ExitStack
) -> None:
    server, url = on_redis(stack, database, prefix)
    table, _ = await in_round_two(server, url)
    assert await delete_prefix(prefix) > 0
    submitted = await table.host.request("bowl.submit", round=2, ingredients=BOWL, spice=1)
    assert submitted["t"] == "ack", submitted  # not session_not_found: restored on the spot
    assert server.said(f"restored {table.session} from its stored snapshot")
    found = await until_total(server.base_url, "maratang_restores_total", 1, outcome="restored")
    assert total(found, "maratang_restores_total", outcome="gone") == 0


async def test_a_lost_table_that_cannot_come_back_sends_its_players_to_the_lobby(
    prefix: str,
) -> None:
    env = {**ENV, "MARATANG_REDIS_PREFIX": prefix}
    with running_server(*FAST, "--engine", REDIS_URL, env=env) as server:  # no records
        table = await open_table(server, ["민지", "Alex"])
        assert await delete_prefix(prefix) > 0
        for seat in table.seats:
            bye = await seat.client.wait_for(lambda m: m["t"] == "bye", 15)
            assert bye["reason"] == "table lost"
            assert (await seat.client.closed)[0] == 1012
        last = table.host.events(table.session)[-1]["seq"]
        back = await Client.hello(server.ws_url, table.seats[0].token, resume=(table.session, last))
        assert back.received[0].get("session") is None  # back to the lobby
        found = await scrape(server.base_url)
    assert total(found, "maratang_restores_total", outcome="gone") >= 1  # again if told again
    assert total(found, "maratang_restores_total", outcome="restored") == 0


async def test_what_outlived_the_retention_is_pruned_but_game_records_stay(
    database: str, stack: ExitStack
) -> None:
    url = database_url(database)
    server = serve(stack, url, MARATANG_RETENTION_HOURS=str(1 / 3600))  # one second
    table, game = await play_game(server, ["민지", "Alex"], rounds=1)
    lobby = await open_table(server, ["서준"])  # a lobby given up: no game refers to it
    await lobby.host.request("session.leave")
    async with asyncio.timeout(20):
        while True:
            if await count(url, SNAPSHOTS) == 0 and await count(url, GIVEN_UP) == 0:
                break
            await asyncio.sleep(0.1)  # the pruner runs every quarter of the retention
    played = "SELECT count(*)::int FROM sessions WHERE id = $1"
    assert await count(url, played, table.session) == 1  # its game record refers to it
    assert_complete(await recorded(server, game), table, rounds=1)
    assert server.said("records: pruned")


SNAPSHOTS = "SELECT count(*)::int FROM session_snapshots"
GIVEN_UP = (
    "SELECT count(*)::int FROM sessions s"
    " WHERE NOT EXISTS (SELECT 1 FROM games g WHERE g.session_id = s.id)"
)
