"""The records' safety net (`realtime.records_net`): a game's records are stored even when
the process that committed them dies before its writer stored them, and even when the
database is away when the net falls due. Two services on one engine play two processes;
the one that plays the game has records whose writer never runs: it was killed first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg
import pytest

from game import commands as c
from game.effects import RoundDue, timer_key
from llm.fallback import FallbackNarrator
from protocol.events import Logged, NarrationEnd
from protocol.types import PlayerId, PlayerView, SessionId, Settings, game_id
from realtime.clock import now_ms
from realtime.metrics import Metrics
from realtime.service import TableService
from realtime.settings import Settings as ServerSettings
from storage.engine import Deadline
from storage.memory import MemoryEngine
from storage.postgres import PostgresRecords
from storage.records import Records
from tests.support.postgres import ADMIN_URL, database_url
from tests.support.proxy import Proxy
from tests.support.until import until

A = PlayerView(PlayerId("u_a"), "민지")
B = PlayerView(PlayerId("u_b"), "Alex")
LATER = 60_000
"""Far enough ahead (ms) that every net set during a test is due then."""


def service(engine: MemoryEngine, records: Records, holder: str) -> TableService:
    return TableService(
        engine,
        FallbackNarrator(2000),
        Metrics(),
        records,
        ServerSettings(coalesce_ms=0),
        lambda: None,
        holder,
    )


@dataclass
class Heard:
    """The events of a table, as its players hear them."""

    events: list[Logged] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, logged: Sequence[Logged]) -> None:
        self.events.extend(logged)
        self.arrived.set()

    async def until_told(self, nid: str) -> None:
        async with asyncio.timeout(10):
            while nid not in self.told():
                self.arrived.clear()
                await self.arrived.wait()

    def told(self) -> dict[str, str]:
        return {e.event.nid: e.event.text for e in self.events if isinstance(e.event, NarrationEnd)}


async def game_on_a_dying_process(engine: MemoryEngine, url: str) -> tuple[SessionId, Heard]:
    """A one-round game, played to its end by a process whose records were never written
    (its writer never ran: what a SIGKILL leaves of a queue in memory)."""
    dying = service(engine, PostgresRecords(url), "dying")
    try:
        session = (await dying.create(A, Settings(rounds=1))).session
        heard = Heard()
        await engine.subscribe(session, heard)
        await dying.execute(session, c.Join(B.id, B.name))
        started = await dying.execute(session, c.Start(A.id, now_ms()))
        kind, key = timer_key(RoundDue(1))
        await dying.fire(Deadline(session, kind, key, started.table.deadline or 0))
        await heard.until_told("finale")
    finally:
        await dying.close()
    return session, heard


async def fire_due(engine: MemoryEngine, survivor: TableService) -> list[Deadline]:
    """Fire, in the surviving process, every deadline due by `LATER`."""
    due = await engine.claim_due(now_ms() + LATER)
    for deadline in due:
        await survivor.fire(deadline)
        await engine.finish_deadline(deadline)
    return due


async def record_of(url: str, session: SessionId) -> tuple[int, int, int, dict[str, str]]:
    """What the database holds of the table's game: games, players and rounds rows, and
    the narrations' texts by nid."""
    game = game_id(session)
    db = await asyncpg.connect(url)
    try:
        games = await db.fetchval("SELECT count(*)::int FROM games WHERE id = $1", game)
        players = await db.fetchval(
            "SELECT count(*)::int FROM game_players WHERE game_id = $1", game
        )
        rounds = await db.fetchval("SELECT count(*)::int FROM game_rounds WHERE game_id = $1", game)
        told = await db.fetch("SELECT nid, text FROM game_narrations WHERE game_id = $1", game)
    finally:
        await db.close()
    return games, players, rounds, {row["nid"]: row["text"] for row in told}


async def until_recorded(url: str, session: SessionId, heard: Heard) -> None:
    """Until the database holds the whole game as its players heard it."""
    whole = (1, 2, 1, heard.told())

    async def stored() -> bool:
        return await record_of(url, session) == whole

    try:
        await until(stored, "the whole game stored")
    except AssertionError as failure:
        raise AssertionError(f"{failure}: {await record_of(url, session)}") from None


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine()


async def test_the_records_of_a_process_that_died_before_writing_them_are_stored_by_another(
    engine: MemoryEngine, database: str
) -> None:
    """Every record of the game (rounds, narrations, result) and its last snapshot reach
    the database through the nets the dying process set before its commits."""
    url = database_url(database)
    session, heard = await game_on_a_dying_process(engine, url)
    assert set(heard.told()) == {"r1.entrance", "r1.tasting", "finale"}
    assert await record_of(url, session) == (0, 0, 0, {})  # gone with the dying process
    records = PostgresRecords(url)
    await records.start()
    survivor = service(engine, records, "survivor")
    try:
        await fire_due(engine, survivor)
        await until_recorded(url, session, heard)
        kept = await records.last_snapshot(session)
        assert kept is not None
        assert kept.table.phase == "over"
    finally:
        await survivor.close()
        await records.close()


async def test_records_the_database_could_not_take_when_due_are_stored_once_it_is_back(
    engine: MemoryEngine, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A net whose store fails stays set and falls due again; it is taken down only once
    its records are stored."""
    url = database_url(database)
    session, heard = await game_on_a_dying_process(engine, url)
    postgres = urlsplit(ADMIN_URL)
    proxy = Proxy(postgres.hostname or "127.0.0.1", postgres.port or 5432)
    await proxy.start()
    records = PostgresRecords(database_url(database, proxy.port))
    await records.start()
    survivor = service(engine, records, "survivor")
    try:
        await proxy.cut()
        with caplog.at_level(logging.WARNING, "maratang.records"):
            assert await fire_due(engine, survivor), "no net was set"

            async def refused() -> bool:
                return " wait: " in caplog.text

            await until(refused, "a store refused")
        assert await record_of(url, session) == (0, 0, 0, {})
        await proxy.restore()
        whole = (1, 2, 1, heard.told())

        async def stored_when_due_again() -> bool:
            await fire_due(engine, survivor)  # set on: due again (in `CHECK_MS`, not `LATER`)
            return await record_of(url, session) == whole

        await until(stored_when_due_again, "the whole game stored once the database is back")

        async def taken_down() -> bool:
            return await engine.next_due() is None

        await until(taken_down, "the nets taken down once stored")
    finally:
        await survivor.close()
        await records.close()
        await proxy.close()
