"""A socket can never hold unbounded memory: a client that stops reading is closed (4408)
once what waits for it passes its byte bound, or once it takes no byte for the stall time, and
when even the close frame cannot leave, the connection is aborted. A client that stays over its
rate limit is closed (4429) rather than answered forever. The other players go on.

The never-reading client is a real socket with a small receive buffer that is never read, so
the kernel's buffers fill and then the server's, as with a phone that froze mid-game."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import orjson
from prometheus_client.metrics_core import Metric

from bench.rawws import RawSocket, connect
from protocol.codec import JSON_SUBPROTOCOL
from tests.realtime.conftest import sit
from tests.support.client import guest
from tests.support.metrics import total, until_total
from tests.support.server import Server, running_server

MiB = 1024 * 1024
RID = "r" * 64
"""The longest request id: the largest reply a ping can ask for."""


async def never_reading(server: Server, name: str) -> RawSocket:
    """A signed-in socket with a 4 KiB receive buffer that reads nothing after the handshake."""
    token, _ = await guest(server.base_url, name)
    sock = await connect(server.ws_url, lambda _: None, JSON_SUBPROTOCOL, receive_buffer=4096)
    sock.stop_reading()
    sock.send_json({"t": "hello", "token": token})
    return sock


async def flood_until_cut(server: Server, sock: RawSocket, limit: float = 30) -> float:
    """Send pings (each answered with a pong the socket will never read), 200 every 20 ms (at
    most 10,000 a second: a flood the server keeps up with, even on a busy machine), until the
    server cuts the connection; how many seconds that took. Fails after `limit` seconds,
    saying what the server logged of its sockets."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            while not sock.closed.done():
                for _ in range(200):
                    if sock.transport is None or sock.transport.is_closing():
                        break
                    sock.send_json({"t": "ping", "ts": 1, "rid": RID})
                await asyncio.sleep(0.02)  # let the socket's own writes and errors happen
    except TimeoutError:
        said = [line for line in "".join(server.output).splitlines() if "socket" in line]
        raise AssertionError(f"not cut within {limit:g} s; the server said: {said}") from None
    return time.monotonic() - started


async def until_said(server: Server, text: str, timeout: float = 5) -> None:
    """Wait for the server to log `text` (its output reaches the test a moment later)."""
    async with asyncio.timeout(timeout):
        while True:
            if server.said(text):
                return
            await asyncio.sleep(0.05)  # polling a process we do not control; bounded above


async def slow_consumer_counted(server: Server, reason: str) -> dict[str, Metric]:
    """The metrics once they count the one socket closed 4408, for `reason`."""
    found = await until_total(server.base_url, "maratang_closes_total", 1, code="4408")
    assert total(found, "maratang_slow_consumer_closes_total", reason=reason) == 1
    assert total(found, "maratang_slow_consumer_closes_total") == 1
    return found


def flooding(**env: str) -> Mapping[str, str]:
    """A server where the flood is within the rate limit: only the send path bounds it."""
    return {"MARATANG_RATE_PER_SECOND": "1000000", "MARATANG_RATE_BURST": "1000000", **env}


async def test_replies_past_the_byte_bound_close_a_client_that_never_reads() -> None:
    with running_server(env=flooding(MARATANG_SEND_QUEUE_BYTES=str(256 * 1024))) as server:
        before = server.rss()
        sock = await never_reading(server, "멈춘폰")
        took = await flood_until_cut(server, sock)
        grew = server.rss() - before
        await until_said(server, "as a slow consumer: more than 262144 bytes waited for it")
        await until_said(server, "its close frame cannot leave")  # so it was aborted
        await slow_consumer_counted(server, "queue")
        assert took < 15, took
        assert grew < 48 * MiB, grew / MiB
        other = await sit(server, "Alex")  # the server goes on for everyone else
        await other.client.send({"t": "ping", "ts": 7})
        assert (await other.client.wait_for(lambda m: m["t"] == "pong"))["ts"] == 7


async def test_a_client_that_takes_no_byte_for_the_stall_time_is_cut_off() -> None:
    env = flooding(MARATANG_SEND_QUEUE_BYTES=str(16 * MiB), MARATANG_SEND_STALL_SECONDS="2")
    with running_server(env=env) as server:
        before = server.rss()
        sock = await never_reading(server, "멈춘폰")
        # At most 10,000 pongs a second, so the stall, not the byte bound, is what cuts it.
        took = await flood_until_cut(server, sock)
        grew = server.rss() - before
        await until_said(server, "as a slow consumer: it took no byte for 2 s")
        await until_said(server, "its close frame cannot leave")
        found = await slow_consumer_counted(server, "stall")
        waited = total(found, "maratang_send_queue_bytes_count") - total(
            found, "maratang_send_queue_bytes_bucket", le="0.0"
        )
        assert waited >= 1  # the watchdog saw its queue hold bytes
        assert took < 2 + 10, took
        assert grew < 64 * MiB, grew / MiB


async def test_a_client_that_never_reads_at_a_table_is_cut_off_and_its_table_goes_on() -> None:
    env = flooding(MARATANG_SEND_STALL_SECONDS="2")
    with running_server(env=env) as server:
        host = await sit(server, "민지")
        created = await host.client.request("session.create", settings={"rounds": 1})
        frozen_token, frozen = await guest(server.base_url, "멈춘폰")
        sock = await connect(server.ws_url, lambda _: None, JSON_SUBPROTOCOL, receive_buffer=4096)
        sock.send_json({"t": "hello", "token": frozen_token})
        sock.send_json({"t": "session.join", "code": created["code"], "rid": 1})
        await host.client.wait_for(lambda m: m["t"] == "player.joined")
        sock.stop_reading()
        await flood_until_cut(server, sock)
        away = await host.client.wait_for(lambda m: m["t"] == "player.away", 10)
        assert away["player"] == frozen["id"]
        assert (await host.client.request("game.start"))["t"] == "ack"
        await host.client.wait_for(lambda m: m["t"] == "round.started")


async def test_a_client_that_stays_over_its_rate_limit_is_closed_with_4429() -> None:
    env = {"MARATANG_RATE_PER_SECOND": "5", "MARATANG_RATE_BURST": "10"}
    with running_server(env=env) as server:
        seat = await sit(server, "민지")
        for n in range(200):
            await seat.client.socket.send(orjson.dumps({"t": "ping", "ts": n}).decode())
        code, _ = await seat.client.closed
        limited = [m for m in seat.client.received if m.get("code") == "rate_limited"]
        found = await until_total(server.base_url, "maratang_closes_total", 1, code="4429")
        refused = total(found, "maratang_commands_total", type="ping", outcome="rate_limited")
        assert refused == len(limited)
        assert code == 4429
        assert 10 <= len(limited) <= 25  # refused at most about a burst's worth, then closed
        assert all(m["retry"] is True for m in limited)
