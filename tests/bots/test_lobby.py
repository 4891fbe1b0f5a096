"""Bots that could not reach the server, or lost their socket before they knew their table,
come back as the protocol says (§10). A sign-in or an upgrade answered 502 is tried again
with backoff. A bot with no `sync` yet says a plain hello on its next socket and joins again,
which finds the seat its first join took; a host that had the create's `ack` joins the
table it made rather than making another."""

from __future__ import annotations

import asyncio

from bots.http import request
from bots.link import Link
from bots.player import Bot
from bots.profiles import PROFILES, Profile
from bots.run import ws_url
from bots.seating import Game, Seating
from protocol import JSON
from tests.bots.test_bots import FAST, SERVER_ENV
from tests.support.metrics import scrape, total
from tests.support.proxy import Proxy
from tests.support.server import Server, running_server


class LosesItsSocketOnce(Bot):
    """A bot whose socket is lost when its first frame of type `drop` comes: neither that
    frame nor any after it on that socket is read."""

    def __init__(
        self, drop: str, game: Game, profile: Profile, seating: Seating, name: str, seed: int
    ) -> None:
        super().__init__(game, profile, seating, name, seed)
        self.drop = drop
        self.lost: Link | None = None

    def received(self, link: Link, frame: bytes | str) -> None:
        if self.lost is None and self.codec.decode(frame)["t"] == self.drop:
            self.lost = link
            link.abort()
        if link is not self.lost:
            super().received(link, frame)


async def one_round(server: Server, url: str) -> Game:
    """A game of one round at `url` (the server's, or a proxy's before it)."""
    catalog = await request(server.base_url, "GET", "/api/catalog")
    foods = tuple(item["id"] for item in catalog["ingredients"])
    return Game(url, ws_url(url), JSON, 1, 15, 0.3, foods)


async def test_a_sign_in_and_an_upgrade_answered_502_are_tried_again() -> None:
    with running_server(*FAST, env=SERVER_ENV) as server:
        proxy = Proxy("127.0.0.1", server.port)
        await proxy.start()
        try:
            proxy.fail_first(b"POST /api/auth/guest ")
            proxy.fail_first(b"GET /ws ")
            game = await one_round(server, f"http://127.0.0.1:{proxy.port}")
            bot = Bot(game, PROFILES["desktop"], Seating(1), "혼밥", 1)
            async with asyncio.timeout(60):
                await bot.play(host=True)
        finally:
            await proxy.close()
    assert proxy.failed == 2
    assert bot.failure is None
    assert bot.done.is_set()
    assert len(bot.tally.timings["connect_ms"]) == 1  # the one socket that opened


async def test_a_seat_taken_on_a_socket_lost_before_its_answer_is_found_again() -> None:
    with running_server(*FAST, env=SERVER_ENV) as server:
        game = await one_round(server, server.base_url)
        seating = Seating(3)
        desktop = PROFILES["desktop"]
        bots = [
            LosesItsSocketOnce("sync", game, desktop, seating, "주인", 1),  # after the create's ack
            LosesItsSocketOnce("ack", game, desktop, seating, "손님", 2),  # its join landed
            Bot(game, desktop, seating, "친구", 3),
        ]
        async with asyncio.timeout(60), asyncio.TaskGroup() as table:
            for i, bot in enumerate(bots):
                table.create_task(bot.play(host=i == 0))
        found = await scrape(server.base_url)

    assert [(bot.done.is_set(), bot.failure) for bot in bots] == [(True, None)] * 3
    for bot in bots:
        assert (bot.tally.lost, bot.tally.duplicated, bot.tally.reordered) == (0, 0, 0)
        assert bot.tally.mismatched == 0
    assert [bot.tally.closes[1006] for bot in bots] == [1, 1, 0]
    assert [dict(bot.tally.resumes) for bot in bots] == [{}] * 3  # no table to resume yet
    # One table: the host joined the table it made; the guest joined twice, the friend once.
    assert total(found, "maratang_commands_total", type="session.create") == 1
    assert total(found, "maratang_commands_total", type="session.join", outcome="ok") == 4
    assert total(found, "maratang_commands_total", type="game.start", outcome="ok") == 1
