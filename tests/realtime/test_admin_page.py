"""The table inspector's page (`/admin`) in headless Chromium against a real server: refused
without the admin token, then, with the token given as the browser gives it (HTTP Basic),
showing a live table's narration as it streams and a finished game's narrations from
PostgreSQL; and saying so when the token it was given is refused later."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, HttpCredentials, Page, expect
from playwright.async_api import Error as BrowserError

from tests.realtime.conftest import FAST_ENV, open_table
from tests.realtime.test_admin import CHALLENGE, ON, TOKEN
from tests.realtime.test_records import play_game, recorded
from tests.support.client import Message
from tests.support.postgres import database_url
from tests.support.server import Server, running_server
from tests.webgl.test_browser import WAIT_MS, Tab, system_chromium

TELLING = ("--fallback-tps", "12")
"""A narration streams for seconds at this pace: long enough to watch it grow."""
GROWN = "(n) => Number(document.getElementById('narration-text').dataset.characters) > n"
"""Whether the story shown is over n characters (a function: the page's policy forbids eval)."""
HOSTILE_NAME = "<b>Bold</b>"
"""A player name that is markup: the page must show it as text."""


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """The system's Chromium, headless, launched as the game's browser tests launch it."""
    async with system_chromium() as launched:
        yield launched


async def finished_game(url: str) -> tuple[str, list[Message]]:
    """A one-round game played to its end on a server of its own, recorded in `url`; its id
    and the narrations (`narration.end`) its host received."""
    with running_server("--fallback-tps", "400", "--database-url", url, env=FAST_ENV) as server:
        table, game = await play_game(server, ["민지", "Alex"], rounds=1)
        await recorded(server, game)
    return game, [m for m in table.host.received if m["t"] == "narration.end"]


async def operator(browser: Browser, token: str | None = TOKEN) -> Tab:
    """A tab whose browser answers a server's prompt for credentials with `token` as the
    password (or has nothing to answer with)."""
    given = HttpCredentials(username="operator", password=token) if token else None
    context = await browser.new_context(locale="en-US", http_credentials=given)
    context.set_default_timeout(WAIT_MS)
    tab = Tab("operator", await context.new_page())
    tab.watch()
    return tab


async def inspector(browser: Browser, server: Server) -> Tab:
    """`/admin` opened with the admin token."""
    tab = await operator(browser)
    opened = await tab.page.goto(server.base_url + "/admin")
    assert opened is not None
    assert opened.status == 200
    return tab


async def refused(browser: Browser, server: Server) -> None:
    """`/admin` opened without the token answers 401 with the Basic challenge, and with a
    wrong one too, when the browser shows that answer instead of the page."""
    url = server.base_url + "/admin"
    page = (await operator(browser, None)).page
    async with page.expect_response(url) as answer:
        # a browser would prompt for the token: headless Chromium has no prompt, and gives up
        with pytest.raises(BrowserError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            await page.goto(url)
    page = (await operator(browser, "not-the-token")).page
    shown = await page.goto(url)
    for refusal in (await answer.value, shown):
        assert refusal is not None
        assert refusal.status == 401
        assert await refusal.header_value("www-authenticate") == CHALLENGE
    await expect(page.locator("body")).to_contain_text("needs the admin token")
    assert await page.get_by_test_id("tables").count() == 0


async def characters(page: Page, more_than: int) -> int:
    """The story's length once it is over `more_than` characters."""
    await page.wait_for_function(GROWN, arg=more_than)
    return int(await page.get_by_test_id("narration-text").get_attribute("data-characters") or 0)


async def test_the_page_needs_the_token_then_shows_live_and_finished_narrations(
    chromium: Browser, database: str
) -> None:
    url = database_url(database)
    game, finished = await finished_game(url)
    with running_server(*TELLING, "--database-url", url, env=ON) as server:
        table = await open_table(server, [HOSTILE_NAME, "민지"], rounds=1)
        await refused(chromium, server)
        tab = await inspector(chromium, server)
        page = tab.page
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

    assert tab.errors == [], "the page showed errors (a blocked script or style among them)"


async def test_the_page_says_so_when_the_server_refuses_its_token_later(
    chromium: Browser,
) -> None:
    with running_server("--fallback-tps", "400", env=ON) as before:
        tab = await inspector(chromium, before)
        status = tab.page.get_by_test_id("status")
        await expect(status).to_contain_text("Updated")
    changed = {**ON, "MARATANG_ADMIN_TOKEN": TOKEN + "-changed"}
    with running_server("--port", str(before.port), env=changed):  # the same origin
        await expect(status).to_contain_text("refused the admin token (401)")
        await expect(status).to_have_class(re.compile(r"\btrouble\b"))
