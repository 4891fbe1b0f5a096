"""What one client can take from a server on its default settings, measured: memory held by a
client that never reads, tables one token creates, what one address opens, and what many
finished tables cost each command of the memory engine.

    .venv/bin/python -m bench.abuse [--seconds 60] [--only reader,tables,address,engine]

- reader: a real socket with a 4 KiB receive buffer that never reads. `flood` sends pings as
  fast as it can (over the rate limit), `polite` sends 19 a second with the longest `rid`
  (under it). For each: when the server cut it (if it did), and the server's RSS before, at
  its peak and after `--seconds`.
- tables: one token asks for a table every 100 ms for `--seconds` (on a new socket whenever
  one is closed); how many it got.
- address: from one address, 200 WebSocket handshakes one after another (each closed at
  once); sockets left waiting before `hello` until refused; 120 guest sign-ins at once.
- engine: microseconds per `MemoryEngine.load` with no finished table and with 40,000 waiting
  to expire (each command used to look at all of them); and the longest the event loop waits
  (what `/healthz` would) while 20,000 deadlines fall due at once.

The server runs on the embedded defaults (memory engine), one process, as `scripts/serve` does;
the client runs in this process (it is never the limit here: each figure is a count or a
memory reading, not a rate of the server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import time
from collections.abc import AsyncIterator

import httpx
from websockets.exceptions import InvalidStatus

from bench.rawws import RawSocket, connect
from game.state import Table
from protocol.codec import JSON_SUBPROTOCOL
from protocol.types import SessionId
from realtime.deadlines import DeadlineRunner
from storage.engine import Deadline
from storage.memory import MemoryEngine
from tests.support.client import Client, guest
from tests.support.server import Server, running_server

MiB = 1024 * 1024
RID = "r" * 64
MOST_WAITING = 300
"""Sockets before hello the address test opens at most."""


async def never_reading(server: Server) -> RawSocket:
    token, _ = await guest(server.base_url, "멈춘폰")
    sock = await connect(server.ws_url, lambda _: None, JSON_SUBPROTOCOL, receive_buffer=4096)
    sock.stop_reading()
    sock.send_json({"t": "hello", "token": token})
    return sock


async def reader(server: Server, seconds: float, per_second: float | None) -> str:
    """Ping without reading for `seconds` (as fast as possible when `per_second` is None)."""
    idle = server.rss()
    sock = await never_reading(server)
    started = time.monotonic()
    peak, cut = idle, None
    while time.monotonic() - started < seconds:
        if sock.closed.done() and cut is None:
            cut = time.monotonic() - started
        if not sock.closed.done() and sock.transport and not sock.transport.is_closing():
            for _ in range(200 if per_second is None else 1):
                sock.send_json({"t": "ping", "ts": 1, "rid": RID})
        await asyncio.sleep(0.001 if per_second is None else 1 / per_second)
        peak = max(peak, server.rss())
    after = server.rss()
    sock.close()
    said = f"cut after {cut:.1f} s" if cut is not None else "never cut"
    return (
        f"{said}; server RSS idle {idle / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, "
        f"after {seconds:g} s {after / MiB:.1f} MiB"
    )


async def tables(server: Server, seconds: float) -> str:
    token, _ = await guest(server.base_url, "방장")
    made = refused = sockets = 0
    client = await Client.hello(server.ws_url, token)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if client.closed.done():
            client, sockets = await Client.hello(server.ws_url, token), sockets + 1
        with contextlib.suppress(ConnectionError, TimeoutError):
            answer = await client.request("session.create", timeout=5)
            made, refused = made + (answer["t"] == "ack"), refused + (answer["t"] == "error")
        await asyncio.sleep(0.1)
    await Client.close_all()
    return f"{made} tables in {seconds:g} s ({refused} refused, {sockets} sockets closed)"


async def address(server: Server) -> list[str]:
    async def attempt() -> Client | None:
        try:
            return await Client.open(server.ws_url)
        except InvalidStatus:
            return None

    started, admitted = time.monotonic(), 0
    for _ in range(200):  # each closed at once: only the rate of new sockets limits them
        client = await attempt()
        if client is not None:
            admitted += 1
            await client.close()
    took = time.monotonic() - started
    lines = [f"200 handshakes in {took:.1f} s, one after another: {admitted} admitted, rest 429"]
    await asyncio.sleep(3.5)  # the address's bucket refills (20/s)
    waiting = 0
    while waiting < MOST_WAITING and await attempt() is not None:
        waiting += 1
        await asyncio.sleep(0.06)  # under the connect rate: only the pending cap refuses
    refused = "then 429" if waiting < MOST_WAITING else "and no refusal (stopped there)"
    lines.append(f"sockets before hello: {waiting}, {refused}")
    await Client.close_all()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answers = await asyncio.gather(
            *(http.post("/api/auth/guest", json={"name": f"g{n}"}) for n in range(120))
        )
    ok = sum(a.status_code == 200 for a in answers)
    lines.append(f"120 sign-ins at once: {ok} tokens, {120 - ok} got 429")
    return lines


async def per_load(engine: MemoryEngine, session: SessionId) -> float:
    """Microseconds per `load` of a live table, over 2,000 loads."""
    started = time.perf_counter()
    for _ in range(2000):
        await engine.load(session)
    return (time.perf_counter() - started) / 2000 * 1e6


async def engine_cost() -> str:
    async def build(finished: int) -> MemoryEngine:
        engine = MemoryEngine()
        for n in range(finished):
            table = Table(SessionId(f"s_{n}"), f"C{n:07d}", seed=n)
            await engine.create(table)
            await engine.expire(table.session, ttl=600)
        await engine.create(Table(SessionId("s_live"), "LIVE00", seed=1))
        return engine

    alone = await per_load(await build(0), SessionId("s_live"))
    crowded = await per_load(await build(40_000), SessionId("s_live"))
    return (
        f"load(): {alone:.1f} µs with no finished table, {crowded:.1f} µs with 40,000 waiting "
        f"to expire ({crowded / alone:.2f}x)"
    )


async def deadlines_stall(count: int = 20_000) -> str:
    """The longest the event loop went without a turn while `count` deadlines fell due at
    once (grace periods of tables left together), each fired by a load and a tally."""
    engine = MemoryEngine()
    for n in range(count):
        await engine.set_deadline(Deadline(SessionId(f"s_{n}"), "grace", "p", due=1))
    fired = asyncio.Event()
    done = 0

    async def fire(deadline: Deadline) -> None:
        nonlocal done
        await engine.load(deadline.session)
        await engine.tally(f"t:{deadline.session}", 60)
        done += 1
        if done == count:
            fired.set()

    runner = DeadlineRunner(engine, fire)
    longest, last = 0.0, time.perf_counter()
    task = asyncio.create_task(runner.run())
    while not fired.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    task.cancel()
    return f"{count:,} deadlines due at once: the loop waited at most {longest * 1000:.1f} ms"


@contextlib.asynccontextmanager
async def quiet_server() -> AsyncIterator[Server]:
    """A server on the defaults whose output is kept to itself."""
    with contextlib.redirect_stdout(io.StringIO()), running_server() as server:
        yield server


async def run(args: argparse.Namespace) -> None:
    only = set(args.only.split(","))
    if "reader" in only:
        for label, rate in (("flood", None), ("polite", 19.0)):
            async with quiet_server() as server:
                said = await reader(server, args.seconds, rate)
            print(f"reader, {label}: {said}", flush=True)
    if "tables" in only:
        async with quiet_server() as server:
            said = await tables(server, args.seconds)
        print(f"tables, one token: {said}", flush=True)
    if "address" in only:
        async with quiet_server() as server:
            lines = await address(server)
        for line in lines:
            print(f"address: {line}", flush=True)
    if "engine" in only:
        print(f"engine: {await engine_cost()}", flush=True)
        print(f"engine: {await deadlines_stall()}", flush=True)


def main() -> None:
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # writes after the server cut us
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", default="reader,tables,address,engine")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
