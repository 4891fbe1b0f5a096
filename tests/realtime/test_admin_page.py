"""The table inspector's page (`/admin`) in headless Chromium against a real server: it asks
for the token the API wants, then shows a live table's narration as it streams and a
finished game's narrations from PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.realtime.conftest import FAST_ENV, open_table
from tests.realtime.test_admin import ON, TOKEN
from tests.realtime.test_records import play_game, recorded
from tests.support.client import Message
from tests.support.postgres import database_url
from tests.support.server import Server, running_server
from tests.webgl.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, Tab

TELLING = ("--fallback-tps", "12")
"""A narration streams for seconds at this pace: long enough to watch it grow."""
GROWN = "(n) => Number(document.getElementById('narration-text').dataset.characters) > n"
"""Whether the story shown is over n characters (a function: the page's policy forbids eval)."""
HOSTILE_NAME = "<b>Bold</b>"
"""A player name that is markup: the page must show it as text."""


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """The system's Chromium, headless, launched as the game's browser tests launch it."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def finished_game(url: str) -> tuple[str, list[Message]]:
    """A one-round game played to its end on a server of its own, recorded in `url`; its id
    and the narrations (`narration.end`) its host received."""
    with running_server("--fallback-tps", "400", "--database-url", url, env=FAST_ENV) as server:
        table, game = await play_game(server, ["민지", "Alex"], rounds=1)
        await recorded(server, game)
    return game, [m for m in table.host.received if m["t"] == "narration.end"]


async def inspector(browser: Browser, server: Server) -> tuple[Tab, Page]:
    context = await browser.new_context(locale="en-US")
    context.set_default_timeout(WAIT_MS)
    tab = Tab("operator", await context.new_page())
    tab.watch()
    await tab.page.goto(server.base_url + "/admin")
    return tab, tab.page


async def sign_in(page: Page, token: str) -> None:
    await page.get_by_test_id("token-input").fill(token)
    await page.get_by_test_id("token-submit").click()


async def characters(page: Page, more_than: int) -> int:
    """The story's length once it is over `more_than` characters."""
    await page.wait_for_function(GROWN, arg=more_than)
    return int(await page.get_by_test_id("narration-text").get_attribute("data-characters") or 0)


async def test_the_page_asks_for_the_token_then_shows_live_and_finished_narrations(
    chromium: Browser, database: str
) -> None:
    url = database_url(database)
    game, finished = await finished_game(url)
    with running_server(*TELLING, "--database-url", url, env=ON) as server:
        table = await open_table(server, [HOSTILE_NAME, "민지"], rounds=1)
        tab, page = await inspector(chromium, server)

        await expect(page.get_by_test_id("sign-in")).to_be_visible()
        await expect(page.get_by_test_id("token-message")).to_contain_text("admin token")
        assert await page.evaluate("fetch('/admin/api/tables').then(r => r.status)") == 401
        await sign_in(page, "not-the-token")
        await expect(page.get_by_test_id("token-message")).to_contain_text("refused this token")
        await expect(page.get_by_test_id("sign-in")).to_be_visible()

        await sign_in(page, TOKEN)
        row = page.locator(f"tr[data-session='{table.session}']")
        await expect(row).to_contain_text(HOSTILE_NAME)
        assert await page.locator("[data-testid=tables] b").count() == 0  # text, not markup
        await expect(row).to_contain_text(table.code)
        await expect(page.get_by_test_id("overview")).to_contain_text("live tables: 1")
        await expect(page.get_by_test_id("status")).to_contain_text("Updated")

        assert (await table.host.request("game.start"))["t"] == "ack"
        await row.click()
        facts = page.get_by_test_id("narration-facts")
        await expect(facts).to_contain_text("streaming")
        seen = [await characters(page, 0)]
        for _ in range(2):  # it grows as the page reads the log on
            seen.append(await characters(page, seen[-1]))
        await expect(facts).to_contain_text("told", timeout=30_000)
        end = await table.host.wait_for(lambda m: m["t"] == "narration.end")
        await expect(page.get_by_test_id("narration-text")).to_have_text(end["text"])
        assert seen[0] < seen[1] < seen[2] < len(end["text"])
        await expect(page.get_by_test_id("log")).to_contain_text("narration.delta")
        await expect(page.get_by_test_id("players")).to_contain_text(HOSTILE_NAME)

        await page.locator(f"tr[data-game='{game}']").click()
        rounds = page.get_by_test_id("game-rounds")
        for told in finished:
            block = rounds.locator(f"[data-nid='{told['nid']}']")
            await expect(block).to_contain_text(told["text"])
            await expect(block).to_contain_text(told["source"])
        await expect(rounds).to_contain_text(re.compile(r"Round 1"))
        await expect(page.get_by_test_id("table")).to_be_visible()  # both stay open
        assert await page.locator(".status.trouble").count() == 0

    unexpected = [e for e in tab.errors if "status of 401" not in e]
    assert unexpected == [], "the page showed errors (a blocked script or style among them)"
