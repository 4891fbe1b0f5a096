"""The browser client (`webgl/`) played end to end: headless Chromium tabs against a real server.

Each player is a separate browser context, so each tab has its own sessionStorage (its own
guest token and table), as two people on two phones would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from playwright.async_api import Error as PlaywrightError

from tests.support.server import Server, running_server, running_sim

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
HANGUL = re.compile(r"[가-힣]")
JOIN_CODE = re.compile(r"^[A-HJ-NP-Z2-9]{6}$")
SCREENSHOT = "/tmp/maratang-round.png"
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)

Bowl = tuple[tuple[str, str, str], int]
"""Three ingredient ids and a spice level."""

BOWLS: dict[str, Bowl] = {
    "민지": (("bok_choy", "enoki", "beef"), 2),
    "Alex": (("potato", "shrimp", "dumplings"), 3),
}


@dataclass
class Tab:
    """One player's page, and every console error or uncaught exception it showed."""

    name: str
    page: Page
    errors: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", self._page_error)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _page_error(self, error: PlaywrightError) -> None:
        self.errors.append(f"pageerror: {error}")


@pytest.fixture
def server() -> Iterator[Server]:
    with running_server("--fallback-tps", "400", env={"MARATANG_COALESCE_MS": "20"}) as running:
        yield running


@asynccontextmanager
async def system_chromium() -> AsyncIterator[Browser]:
    """The system's Chromium, headless (never a browser Playwright would download)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with system_chromium() as chromium:
        yield chromium


async def open_tab(browser: Browser, server: Server, name: str, viewport: ViewportSize) -> Tab:
    context = await browser.new_context(viewport=viewport, locale="ko-KR")
    context.set_default_timeout(WAIT_MS)
    tab = Tab(name, await context.new_page())
    tab.watch()
    await tab.page.goto(server.base_url)
    return tab


async def sign_in(tab: Tab) -> None:
    page = tab.page
    await page.get_by_test_id("name-input").fill(tab.name)
    await page.get_by_test_id("sign-in").click()
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "connected")


async def create_table(tab: Tab, rounds: int, seconds: int) -> str:
    page = tab.page
    await page.get_by_test_id("rounds-input").fill(str(rounds))
    await page.get_by_test_id("seconds-input").fill(str(seconds))
    await page.get_by_test_id("create-table").click()
    code = page.get_by_test_id("table-code")
    await expect(code).to_have_text(JOIN_CODE)
    await expect(page.get_by_test_id("phase")).to_have_text("lobby")
    return (await code.text_content() or "").strip()


async def join_table(tab: Tab, code: str) -> None:
    page = tab.page
    await page.get_by_test_id("join-code").fill(code)
    await page.get_by_test_id("join-table").click()
    await expect(page.get_by_test_id("table-code")).to_have_text(code)
    await expect(page.get_by_test_id("phase")).to_have_text("lobby")


async def start_game(host: Tab, tabs: Sequence[Tab]) -> None:
    for tab in tabs:
        players = tab.page.get_by_test_id("players")
        for other in tabs:
            await expect(players).to_contain_text(other.name)
    await host.page.get_by_test_id("start-game").click()
    for tab in tabs:
        await expect(tab.page.get_by_test_id("round-number")).to_have_text("1")


async def pick(tab: Tab) -> None:
    """Fill the bowl (three ingredients and a spice) without submitting it."""
    page = tab.page
    ingredients, spice = BOWLS[tab.name]
    for ingredient in ingredients:
        button = page.get_by_test_id(f"ingredient-{ingredient}")
        await button.click()
        await expect(button).to_have_attribute("aria-pressed", "true")
    await page.get_by_test_id(f"spice-{spice}").click()
    await expect(page.get_by_test_id(f"spice-{spice}")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("submit-bowl")).to_be_enabled()


async def play_round(tabs: Sequence[Tab], number: int, screenshot: str | None = None) -> None:
    """Every tab picks and submits; the round resolves and each tab shows its results
    (on the round screen, or in the score table when the last round went straight on to
    the final ranking)."""
    for tab in tabs:
        await expect(tab.page.get_by_test_id("round-number")).to_have_text(str(number))
        await expect(tab.page.get_by_test_id("phase")).to_have_text("picking")
    for tab in tabs:
        await pick(tab)
    if screenshot is not None:
        await tabs[0].page.evaluate("window.scrollTo(0, 0)")
        await tabs[0].page.screenshot(path=screenshot)
    first, *others = tabs
    await first.page.get_by_test_id("submit-bowl").click()
    await expect(first.page.get_by_test_id("submit-bowl")).to_have_attribute(
        "data-state", "submitted"
    )
    for tab in others:  # the others see *that* the first submitted, not what
        ready = tab.page.get_by_test_id("players").locator(".seat.done")
        await expect(ready).to_contain_text(first.name)
    for tab in others:
        await tab.page.get_by_test_id("submit-bowl").click()
    for tab in tabs:
        page = tab.page
        await expect(page.get_by_test_id("narration")).to_have_text(HANGUL)
        results = page.get_by_test_id("results")
        await expect(results).to_have_attribute("data-round", str(number))
        await expect(results.get_by_test_id("result-row")).to_have_count(len(tabs))
        for other in tabs:
            await expect(results).to_contain_text(other.name)


async def expect_final_ranking(tabs: Sequence[Tab]) -> None:
    for tab in tabs:
        page = tab.page
        await expect(page.get_by_test_id("phase")).to_have_text("over")
        ranking = page.get_by_test_id("ranking")
        rows = ranking.get_by_test_id("ranking-row")
        await expect(rows).to_have_count(len(tabs))
        for other in tabs:
            await expect(ranking).to_contain_text(other.name)
        # The finale is told to the end (its source badge shows) in Korean.
        panel = page.get_by_test_id("narration-panel")
        await expect(panel).to_have_attribute("data-kind", "finale")
        await expect(panel).to_have_attribute("data-state", "ended")
        await expect(page.get_by_test_id("narration-source")).to_be_visible()
        await expect(page.get_by_test_id("narration")).to_have_text(HANGUL)


def assert_no_errors(tabs: Sequence[Tab]) -> None:
    for tab in tabs:
        assert tab.errors == [], f"{tab.name}'s page logged errors: {tab.errors}"


async def two_tabs_in_a_game(browser: Browser, server: Server, seconds: int) -> tuple[Tab, Tab]:
    """민지 (desktop) creates a two-round table, Alex (phone) joins by its code, 민지 starts."""
    minji = await open_tab(browser, server, "민지", DESKTOP)
    alex = await open_tab(browser, server, "Alex", PHONE)
    await sign_in(minji)
    code = await create_table(minji, rounds=2, seconds=seconds)
    await sign_in(alex)
    await join_table(alex, code)
    await start_game(minji, (minji, alex))
    return minji, alex


async def test_two_browser_tabs_play_a_game_to_the_final_ranking(
    server: Server, browser: Browser
) -> None:
    minji, alex = tabs = await two_tabs_in_a_game(browser, server, seconds=60)

    await play_round(tabs, 1, screenshot=SCREENSHOT)
    await play_round(tabs, 2)
    await expect_final_ranking(tabs)

    names = [
        (await row.text_content() or "")
        for row in await minji.page.get_by_test_id("ranking-row").all()
    ]
    assert sorted(n for n in BOWLS if any(n in row for row in names)) == sorted(BOWLS)
    for tab in tabs:
        narration = await tab.page.get_by_test_id("narration").text_content() or ""
        assert narration.strip(), f"{tab.name} saw no narration"
        assert HANGUL.search(narration), narration
    # Both tabs were told the same finale.
    await expect(alex.page.get_by_test_id("narration")).to_have_text(
        await minji.page.get_by_test_id("narration").text_content() or ""
    )

    # A new table starts from the lobby choice again.
    await minji.page.get_by_test_id("new-table").click()
    await expect(minji.page.get_by_test_id("create-table")).to_be_enabled()
    assert_no_errors(tabs)


async def test_reloading_a_tab_mid_game_resumes_the_same_table(
    server: Server, browser: Browser
) -> None:
    minji, alex = tabs = await two_tabs_in_a_game(browser, server, seconds=120)
    await expect(alex.page.get_by_test_id("narration")).to_have_text(HANGUL)
    session = await alex.page.evaluate("window.maratang.client.session")
    assert isinstance(session, str)
    assert session.startswith("s_")

    code = await minji.page.get_by_test_id("table-code").text_content()
    assert code
    await alex.page.reload()

    page = alex.page
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "connected")
    await expect(page.get_by_test_id("table-code")).to_have_text(code)
    await expect(page.get_by_test_id("round-number")).to_have_text("1")
    await expect(page.get_by_test_id("phase")).to_have_text("picking")
    assert await page.evaluate("window.maratang.client.session") == session
    assert await page.evaluate("window.maratang.client.resumed") is True
    # The host sees Alex back at the table (away while the page reloaded, then back).
    await expect(minji.page.get_by_test_id("players").locator(".badge.away")).to_have_count(0)

    await play_round(tabs, 1)
    await play_round(tabs, 2)
    await expect_final_ranking(tabs)
    await expect(alex.page.get_by_test_id("narration")).to_have_text(
        await minji.page.get_by_test_id("narration").text_content() or ""
    )
    assert_no_errors(tabs)


@pytest.fixture
def narrated_server() -> Iterator[Server]:
    """A server narrated by the model stand-in, `maratang serve --llm-url`."""
    with (
        running_sim("--tps", "40", "--output-tokens", "40") as sim,
        running_server("--llm-url", sim.base_url, env={"MARATANG_COALESCE_MS": "40"}) as running,
    ):
        yield running


async def test_a_game_narrated_by_the_model_streams_into_the_page(
    narrated_server: Server, browser: Browser
) -> None:
    minji, _ = tabs = await two_tabs_in_a_game(browser, narrated_server, seconds=60)
    panel = minji.page.get_by_test_id("narration-panel")
    await expect(panel).to_have_attribute("data-state", "streaming")
    await expect(panel).to_have_attribute("data-state", "ended")
    await expect(minji.page.get_by_test_id("narration-source")).to_have_attribute(
        "data-source", "llm"
    )
    await play_round(tabs, 1)
    await play_round(tabs, 2)
    await expect_final_ranking(tabs)
    for tab in tabs:
        source = tab.page.get_by_test_id("narration-source")
        await expect(source).to_have_attribute("data-source", "llm")
        await expect(source).to_have_text("AI 이야기꾼")
    assert_no_errors(tabs)


# The page shows a game it first sees through a `sync` taken after the start: no
# `round.started` ever reaches it, so the round, phase, customer and narration must all come from
# `sync.state`. A player whose tab lost its table (but kept its token) joins back by the code
# mid-game, which is answered by exactly such a `sync`.

FORGET_TABLE = """{
  const key = 'maratang.client';
  const { v, token, player } = JSON.parse(sessionStorage.getItem(key));
  sessionStorage.setItem(key, JSON.stringify({ v, token, player }));
}"""
"""Run before the page's own scripts: keep the tab's token and player, drop its table and seq."""


async def test_a_tab_that_joins_mid_game_takes_the_round_from_the_sync(
    server: Server, browser: Browser
) -> None:
    minji, alex = tabs = await two_tabs_in_a_game(browser, server, seconds=120)
    await expect(minji.page.get_by_test_id("narration")).to_have_text(HANGUL)
    code = await minji.page.get_by_test_id("table-code").text_content()
    customer = await minji.page.get_by_test_id("customer-name").text_content()
    assert code
    assert customer

    page = alex.page
    await page.add_init_script(FORGET_TABLE)
    await page.reload()
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "connected")
    await expect(page.get_by_test_id("join-table")).to_be_enabled()
    assert await page.evaluate("window.maratang.client.session") is None

    await page.get_by_test_id("join-code").fill(code)
    await page.get_by_test_id("join-table").click()
    await expect(page.get_by_test_id("phase")).to_have_text("picking")
    await expect(page.get_by_test_id("round-number")).to_have_text("1")
    await expect(page.get_by_test_id("customer-name")).to_have_text(customer)
    await expect(page.get_by_test_id("narration")).to_have_text(HANGUL)
    assert await page.evaluate("window.maratang.client.resumed") is False

    await play_round(tabs, 1)
    assert_no_errors(tabs)
