"""The page tells the narration at reading pace (`webgl/js/pacer.js`, `webgl/js/page/pace.js`):
headless Chromium against a real server narrated by the vLLM simulator. The page records, as
they happen, every narration piece it received and every change of what it shows, with
`performance.now()`; the tests judge that record, not exact timings."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.server import Server, running_server, running_sim
from tests.webgl.test_browser import (
    DESKTOP,
    Tab,
    assert_no_errors,
    create_table,
    open_tab,
    sign_in,
    system_chromium,
)

RECORD = """() => {
  const record = { received: [], shown: [] };
  window.paceRecord = record;
  window.maratang.client.subscribe(({ detail }) => {
    if (!detail || (detail.t !== 'narration.delta' && detail.t !== 'narration.end')) return;
    const { nid, t, text } = detail;
    record.received.push({ at: performance.now(), nid, t, length: text.length });
  });
  let last = '';
  new MutationObserver(() => {
    const panel = document.querySelector('[data-testid="narration-panel"]');
    if (!panel) return;
    const length = panel.querySelector('[data-testid="narration"]').textContent.length;
    const stalled = !panel.querySelector('[data-testid="narration-stall"]').hidden;
    const sample = { at: performance.now(), kind: panel.dataset.kind, length, stalled };
    const key = `${sample.kind} ${length} ${stalled}`;
    if (key !== last) record.shown.push(sample);
    last = key;
  }).observe(document.getElementById('app'), {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""
"""Installed in the page once signed in: what arrived, and what was shown, each when."""


@dataclass(frozen=True)
class Received:
    at: float
    nid: str
    t: str
    length: int


@dataclass(frozen=True)
class Shown:
    at: float
    kind: str
    length: int
    stalled: bool


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with system_chromium() as chromium:
        yield chromium


async def record(page: Page) -> None:
    await page.evaluate(RECORD)


async def recorded(page: Page) -> tuple[list[Received], list[Shown]]:
    raw: dict[str, list[dict[str, Any]]] = await page.evaluate("window.paceRecord")
    return [Received(**r) for r in raw["received"]], [Shown(**s) for s in raw["shown"]]


async def play_alone(browser: Browser, server: Server) -> Tab:
    """민지 opens a one-round table, starts it, and watches the entrance being told."""
    tab = await open_tab(browser, server, "민지", DESKTOP)
    await sign_in(tab)
    await record(tab.page)
    await create_table(tab, rounds=1, seconds=60)
    await tab.page.get_by_test_id("start-game").click()
    await expect(tab.page.get_by_test_id("round-number")).to_have_text("1")
    return tab


def received_by(pieces: list[Received], at: float) -> int:
    """How long the narration's text was at `at`: the deltas so far, or its end's text."""
    total = 0
    for piece in pieces:
        if piece.at > at:
            break
        total = piece.length if piece.t == "narration.end" else total + piece.length
    return total


@pytest.fixture
def bursty_server() -> Iterator[Server]:
    """The model sends its answer in chunks of 40 tokens (vLLM's `--stream-interval`), one
    every two seconds: each arrives in the page as a single delta of many characters."""
    with (
        running_sim("--stream-interval", "40", "--tps", "20", "--output-tokens", "120") as sim,
        running_server("--llm-url", sim.base_url, env={"MARATANG_COALESCE_MS": "40"}) as running,
    ):
        yield running


async def test_a_burst_of_narration_is_shown_at_a_steady_pace(
    bursty_server: Server, browser: Browser
) -> None:
    tab = await play_alone(browser, bursty_server)
    panel = tab.page.get_by_test_id("narration-panel")
    await expect(panel).to_have_attribute("data-kind", "entrance")
    await expect(panel).to_have_attribute("data-state", "ended")
    await expect(tab.page.get_by_test_id("narration-source")).to_have_attribute(
        "data-source", "llm"
    )

    received, shown = await recorded(tab.page)
    pieces = [r for r in received if r.nid == "r1.entrance"]
    deltas = [r for r in pieces if r.t == "narration.delta"]
    burst = max(deltas, key=lambda r: r.length)
    assert burst.length >= 50, f"the model's chunks should arrive whole: {deltas}"
    samples = [s for s in shown if s.kind == "entrance"]
    lengths = [s.length for s in samples]
    assert lengths == sorted(lengths), "the entrance only ever grows"
    jumps = [b - a for a, b in pairwise(lengths)]
    assert max(jumps) <= burst.length // 3, f"{burst.length} characters arrived at once: {jumps}"
    assert len(samples) >= 30, f"shown in few steps: {lengths}"
    for sample in samples:
        assert sample.length <= received_by(pieces, sample.at), f"ahead of the text: {sample}"
    told = received_by(pieces, burst.at)
    caught_up = next(s.at for s in samples if s.length >= told)
    assert caught_up - burst.at >= 750, f"the burst was shown within {caught_up - burst.at} ms"
    assert_no_errors([tab])


@pytest.fixture
def hanging_server() -> Iterator[Server]:
    """The model says a few words, then nothing: after 4 s without text the server hands the
    narration to its fallback narrator, which finishes it (source `mixed`)."""
    with (
        running_sim("--fault", "hang", "--fault-after", "6", "--tps", "40") as sim,
        running_server(
            "--llm-url",
            sim.base_url,
            env={"MARATANG_COALESCE_MS": "40", "MARATANG_LLM_STALL_SECONDS": "4"},
        ) as running,
    ):
        yield running


async def test_a_stalled_narration_shows_an_ellipsis_until_text_comes_again(
    hanging_server: Server, browser: Browser
) -> None:
    tab = await play_alone(browser, hanging_server)
    page = tab.page
    stall = page.get_by_test_id("narration-stall")
    await expect(stall).to_be_visible()
    await expect(stall).to_have_text("이야기꾼이 생각하는 중…")
    await expect(page.get_by_test_id("narration-panel")).to_have_class(re.compile(r"\bstalled\b"))
    await expect(stall).to_be_hidden()
    await expect(page.get_by_test_id("narration-panel")).to_have_attribute("data-state", "ended")
    await expect(page.get_by_test_id("narration-source")).to_have_attribute("data-source", "mixed")

    received, shown = await recorded(page)
    pieces = [r for r in received if r.nid == "r1.entrance"]
    first = next(i for i, s in enumerate(shown) if s.stalled)
    before, during = shown[first - 1], shown[first]
    assert during.length == before.length > 0, "the model's first words were shown first"
    assert during.at - before.at >= 1100, "the stall shows after about 1.2 s without news"
    assert received_by(pieces, during.at) == during.length, "everything received was shown"
    after = shown[first + 1]
    assert not after.stalled
    came = next(r for r in pieces if r.at > during.at)
    assert after.at - came.at < 250, "the ellipsis goes as soon as text comes again"
    assert sum(s.stalled for s in shown) == 1, "one stall, shown once"
    assert_no_errors([tab])


RECORD_FROM_LOAD = """
window.paceLengths = [];
new MutationObserver(() => {
  const text = document.querySelector('[data-testid="narration"]');
  const lengths = window.paceLengths;
  if (text && lengths[lengths.length - 1] !== text.textContent.length) {
    lengths.push(text.textContent.length);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
"""Run before the page's own scripts: every length the narration is shown at, from the first."""


async def test_a_reloaded_page_shows_the_narration_told_so_far_at_once(
    bursty_server: Server, browser: Browser
) -> None:
    tab = await play_alone(browser, bursty_server)
    page = tab.page
    await page.wait_for_function(
        "(window.maratang.client.state.narration?.text || '').length >= 80"
    )
    told = await page.evaluate("window.maratang.client.state.narration.text.length")
    await page.add_init_script(RECORD_FROM_LOAD)
    await page.reload()
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "connected")
    await expect(page.get_by_test_id("narration-panel")).to_have_attribute("data-state", "ended")
    lengths: list[int] = await page.evaluate("window.paceLengths")
    first = next(length for length in lengths if length > 0)
    assert first >= told, f"the {told} characters told before the reload were paced: {lengths}"
    assert_no_errors([tab])
