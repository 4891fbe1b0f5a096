"""The page shows a game it first sees through a `sync` taken after the start: no
`round.started` ever reaches it, so the round, phase, customer and narration must all come from
`sync.state`. A player whose tab lost its table (but kept its token) joins back by the code
mid-game, which is answered by exactly such a `sync`."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.server import Server
from tests.webgl.test_browser import (
    HANGUL,
    assert_no_errors,
    browser,
    play_round,
    server,
    two_tabs_in_a_game,
)

__all__ = ["browser", "server"]  # the fixtures this module uses

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
