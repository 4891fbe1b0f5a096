"""The WebGL bridge (`MaratangWebSocket.jslib`) in headless Chromium, driven from the page as
the SDK's C# drives it, through the production nginx over wss to a real server, with a TCP
proxy between nginx and the app that the test can cut: a round played, a 30 s stay in a
hidden tab (with the SDK's timers firing through it), a lost connection resumed, close codes
passed through exactly, and a socket whose server stopped answering found dead by the bridge's
own ping. The bridge's timers (what the SDK waits on in a WebGL build) fire once, on time, and
never once cancelled."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Page

from tests.support.nginx import Site, running_nginx
from tests.support.proxy import Proxy
from tests.support.server import Server, running_server
from tests.webgl.unity_web import chromium, write_bridge_page

HEARTBEAT_MS = 5000
WAIT_MS = 15_000
BOWL = {"ingredients": ["bok_choy", "enoki", "beef"], "spice": 2}
HIDDEN_TIMERS = {101: 2000, 103: 12_000}
"""Timers started as the tab hides, by id and milliseconds; timer 102 is cancelled at once."""
Json = dict[str, Any]


@pytest.fixture(scope="module")
def app() -> Iterator[Server]:
    env = {
        "MARATANG_COALESCE_MS": "20",
        "MARATANG_PING_INTERVAL": str(HEARTBEAT_MS / 1000),
        "MARATANG_PING_TIMEOUT": str(HEARTBEAT_MS / 1000),
    }
    with running_server("--fallback-tps", "400", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(app: Server) -> Proxy:
    return Proxy(app.host, app.port)


@pytest.fixture(scope="module")
def site(proxy: Proxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_nginx(f"http://127.0.0.1:{proxy.port}", tmp_path_factory.mktemp("nginx")) as up:
        yield up


@pytest.fixture
async def page(site: Site, proxy: Proxy) -> AsyncIterator[Page]:
    path = write_bridge_page(site.root)
    await proxy.start()
    try:
        async with chromium() as browser:
            context = await browser.new_context(ignore_https_errors=True)
            context.set_default_timeout(WAIT_MS)
            tab = await context.new_page()
            await tab.goto(site.https + path)
            yield tab
            assert await tab.evaluate("liveAllocations()") == 0, "the bridge leaked heap memory"
    finally:
        await proxy.close()


async def sign_in(page: Page, name: str) -> str:
    token: str = await page.evaluate(
        """async (name) => {
            const answer = await fetch('/api/auth/guest', {method: 'POST',
                headers: {'content-type': 'application/json'}, body: JSON.stringify({name})});
            return (await answer.json()).token;
        }""",
        name,
    )
    return token


async def connect(page: Page, socket: int) -> None:
    rc = await page.evaluate("(s) => bridge.connect(s, `wss://${location.host}/ws`)", socket)
    assert rc == 0


async def event(page: Page, socket: int, kind: str, t: str | None = None) -> Json:
    """The first event of `socket` the page's Update has handed on (waiting for it)."""
    handle = await page.wait_for_function(
        "([s, kind, t]) => bridge.find(s, kind, t)", arg=[socket, kind, t]
    )
    found: Json = await handle.json_value()
    return found


async def message(page: Page, socket: int, t: str, where: str = "true") -> Json:
    """The first message of type `t` on `socket` for which the JS expression `where` (over
    `m`) holds."""
    handle = await page.wait_for_function(
        f"([s, t]) => bridge.messages(s, t).map(e => e.message).find(m => {where}) || null",
        arg=[socket, t],
    )
    found: Json = await handle.json_value()
    return found


async def send(page: Page, socket: int, frame: Json) -> None:
    assert await page.evaluate("([s, f]) => bridge.send(s, f)", [socket, frame]) == 0


async def hello(page: Page, socket: int, token: str, resume: Json | None = None) -> Json:
    await connect(page, socket)
    await event(page, socket, "open")
    await send(
        page, socket, {"t": "hello", "token": token, **({"resume": resume} if resume else {})}
    )
    return await message(page, socket, "welcome")


def last_seq(events: list[Json]) -> int:
    seqs: list[int] = [e["message"]["seq"] for e in events if "seq" in e.get("message", {})]
    return max(seqs)


async def play_first_round(page: Page, socket: int) -> None:
    await send(
        page, socket, {"t": "session.create", "rid": 1, "settings": {"rounds": 2, "seconds": 120}}
    )
    assert (await message(page, socket, "ack", "m.rid === 1"))["code"]
    await send(page, socket, {"t": "game.start", "rid": 2})
    await message(page, socket, "round.started", "m.round === 1")
    await send(page, socket, {"t": "bowl.submit", "rid": 3, "round": 1, **BOWL})
    resolved = await message(page, socket, "round.resolved", "m.round === 1")
    assert resolved["results"][0]["score"] > 0
    tasting = await message(page, socket, "narration.end", "m.nid === 'r1.tasting'")
    deltas = await page.evaluate(
        "(s) => bridge.messages(s, 'narration.delta').map(e => e.message)"
        ".filter(m => m.nid === 'r1.tasting').map(m => m.text).join('')",
        socket,
    )
    assert deltas == tasting["text"]
    assert "점" in deltas
    await message(page, socket, "narration.end", "m.nid === 'r2.entrance'")


async def stay_hidden(page: Page, socket: int, seconds: float) -> None:
    """Hides the tab for `seconds` of wall-clock time; the socket must live through it, and
    the SDK's timers must fire (a cancelled one must not) while no Update runs."""
    before = await page.evaluate(
        """([s, timers]) => {
            const before = {updates: csharp.updates, pings: bridge.pings(s),
                            queued: csharp.inbox.length};
            setHidden(true);
            before.at = Date.now();
            for (const [timer, ms] of timers) bridge.timer(timer, ms);
            bridge.timer(102, 2000);
            bridge.cancelTimer(102);
            return before;
        }""",
        [socket, list(HIDDEN_TIMERS.items())],
    )
    await page.wait_for_timeout(seconds * 1000)  # the phase under test is 30 s of real time
    during = await page.evaluate(
        "(s) => ({updates: csharp.updates, pings: bridge.pings(s), queued: csharp.inbox.length,"
        " wakeUps: tab.wakeUps, hidden: document.hidden, fired: csharp.fired})",
        socket,
    )
    await page.evaluate("setHidden(false)")
    assert during["hidden"] is True
    # at most the one frame the browser was already asked for before the tab was hidden
    assert during["updates"] - before["updates"] <= 1, "Update kept running in a hidden tab"
    assert during["wakeUps"] >= seconds * 1000 // HEARTBEAT_MS, "timers were not throttled"
    assert during["pings"] - before["pings"] >= seconds * 1000 // HEARTBEAT_MS - 1
    assert during["queued"] - before["queued"] >= 2, "no pong reached the callbacks"
    fired = {f["timer"]: f for f in during["fired"]}
    assert sorted(fired) == sorted(HIDDEN_TIMERS), "fired in the hidden tab: " + str(fired)
    assert len(during["fired"]) == len(HIDDEN_TIMERS), "a timer fired twice"
    for timer, ms in HIDDEN_TIMERS.items():
        assert fired[timer]["hidden"] is True
        assert fired[timer]["updates"] <= before["updates"] + 1, "it waited for an Update"
        assert fired[timer]["at"] - before["at"] >= ms, f"timer {timer} fired early"
    await page.wait_for_function("(n) => csharp.updates > n", arg=during["updates"])
    assert await page.evaluate("(s) => bridge.find(s, 'close')", socket) is None


async def test_a_game_through_nginx_survives_a_hidden_tab_and_a_lost_connection(
    page: Page, proxy: Proxy
) -> None:
    token = await sign_in(page, "민지")
    welcome = await hello(page, 1, token)
    assert welcome["heartbeat_ms"] == HEARTBEAT_MS
    await page.evaluate("([s, ms]) => bridge.liveness(s, ms, ms)", [1, HEARTBEAT_MS])
    await play_first_round(page, 1)

    await stay_hidden(page, 1, 30)

    await proxy.cut()
    lost = await event(page, 1, "close")
    assert lost["code"] == 1006
    await connect(page, 2)  # nginx answers 502 while the app is unreachable
    refused = await event(page, 2, "close")
    assert refused["code"] == 1006
    assert await page.evaluate("bridge.find(2, 'open')") is None

    await proxy.restore()
    events: list[Json] = await page.evaluate("csharp.events")
    session = (await message(page, 1, "ack", "m.rid === 1"))["session"]
    resumed = await hello(page, 3, token, {"session": session, "seq": last_seq(events)})
    assert resumed["session"] == session
    assert await page.evaluate("Object.keys(MaratangSockets.sockets)") == ["3"]  # 1, 2 released
    await send(page, 3, {"t": "bowl.submit", "rid": 4, "round": 2, **BOWL})
    assert (await message(page, 3, "round.resolved", "m.round === 2"))["totals"]
    await message(page, 3, "game.over")


async def test_timers_fire_once_on_time_and_a_cancelled_one_never(page: Page) -> None:
    started = await page.evaluate(
        """() => {
            const at = Date.now();
            bridge.timer(1, 100);
            bridge.timer(2, 100);
            bridge.timer(3, 300);
            bridge.cancelTimer(2);
            bridge.cancelTimer(4);  // unknown: ignored
            return at;
        }"""
    )
    await page.wait_for_function("bridge.fired(3).length > 0")
    fired: list[Json] = await page.evaluate("csharp.fired")
    assert [f["timer"] for f in fired] == [1, 3]  # 2 was due before 3
    assert fired[0]["at"] - started >= 100
    assert fired[1]["at"] - started >= 300
    assert await page.evaluate("Object.keys(MaratangTimers.timers)") == []
    await page.evaluate("bridge.cancelTimer(1)")  # already fired: ignored


async def test_close_codes_reach_csharp_exactly(page: Page) -> None:
    await connect(page, 1)
    await event(page, 1, "open")
    await send(page, 1, {"t": "hello", "token": "eyJmb3JnZWQiOnRydWV9.c2ln"})
    assert (await message(page, 1, "error"))["code"] == "unauthorized"
    assert (await event(page, 1, "close"))["code"] == 4401

    token = await sign_in(page, "Alex")
    await hello(page, 2, token)
    await page.evaluate("bridge.close(2, 1000, 'bye')")
    closed = await event(page, 2, "close")
    assert closed["code"] == 1000


async def test_the_bridge_finds_a_socket_whose_server_stopped_answering(
    page: Page, app: Server
) -> None:
    token = await sign_in(page, "Sam")
    await hello(page, 1, token)
    await page.evaluate("bridge.liveness(1, 300, 1000)")
    os.kill(app.process.pid, signal.SIGSTOP)  # TCP stays up; nothing answers
    try:
        dead = await event(page, 1, "close")
    finally:
        os.kill(app.process.pid, signal.SIGCONT)
    assert dead == {"socket": 1, "kind": "close", "code": 1006, "reason": "no answer to ping"}
