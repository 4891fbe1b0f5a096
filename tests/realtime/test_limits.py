"""Limits per player (across processes) and per client address, each tested at its edge: what
the last allowed attempt gets, and what the first refused one gets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from realtime.limits import AddressLimits, AddressRules
from tests.realtime.test_many_processes import cluster_env
from tests.support.client import Client, Message, guest
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server

BOWL_CODE_NOBODY_HAS = "ZZZZZZ"


async def hello_refused(server: Server, token: str) -> tuple[list[Message], int | None]:
    """A socket whose `hello` is answered and then closed: what it got, and the close code."""
    client = await Client.open(server.ws_url)
    await client.send({"t": "hello", "token": token})
    code, _ = await client.closed
    return client.received, code


async def test_a_player_may_hold_only_so_many_sockets() -> None:
    with running_server(env={"MARATANG_PLAYER_SOCKETS": "2"}) as server:
        token, _ = await guest(server.base_url, "민지")
        first = await Client.hello(server.ws_url, token)
        await Client.hello(server.ws_url, token)
        received, code = await hello_refused(server, token)
        assert code == 1013  # try again later: not final
        assert (received[-1]["code"], received[-1]["retry"]) == ("rate_limited", True)
        await first.close()
        again = await eventually_welcomed(server, token)
        assert again.received[0]["t"] == "welcome"


async def eventually_welcomed(server: Server, token: str, within: float = 5) -> Client:
    """A socket for `token` once the server has counted a closed one out (it does so just
    after the close handshake)."""
    deadline = time.monotonic() + within
    while True:
        client = await Client.open(server.ws_url)
        await client.send({"t": "hello", "token": token})
        with contextlib.suppress(ConnectionError):
            await client.wait_for(lambda m: m["t"] in ("welcome", "error"))
        if client.received and client.received[0]["t"] == "welcome":
            return client
        assert time.monotonic() < deadline, client.received
        await asyncio.sleep(0.1)  # polling a process we do not control; bounded above


async def test_a_player_may_open_only_so_many_tables_a_minute() -> None:
    with running_server(env={"MARATANG_PLAYER_TABLES_PER_MINUTE": "3"}) as server:
        token, _ = await guest(server.base_url, "민지")
        client = await Client.hello(server.ws_url, token)
        answers = [await client.request("session.create") for _ in range(4)]
        assert [a["t"] for a in answers] == ["ack", "ack", "ack", "error"]
        assert (answers[3]["code"], answers[3]["retry"]) == ("rate_limited", True)
        other_socket = await Client.hello(server.ws_url, token)  # the count is the player's
        assert (await other_socket.request("session.create"))["code"] == "rate_limited"
        someone_else = await Client.hello(server.ws_url, (await guest(server.base_url, "A"))[0])
        assert (await someone_else.request("session.create"))["t"] == "ack"


async def test_tables_a_minute_are_counted_across_processes() -> None:
    prefix = throwaway_prefix()
    env = cluster_env(prefix, MARATANG_PLAYER_TABLES_PER_MINUTE="2")
    try:
        with ExitStack() as stack:
            one, two = (
                stack.enter_context(running_server("--engine", REDIS_URL, env=env))
                for _ in range(2)
            )
            token, _ = await guest(one.base_url, "민지")
            here, there = (
                await Client.hello(one.ws_url, token),
                await Client.hello(two.ws_url, token),
            )
            assert (await here.request("session.create"))["t"] == "ack"
            assert (await there.request("session.create"))["t"] == "ack"
            assert (await here.request("session.create"))["code"] == "rate_limited"
            await Client.close_all()
    finally:
        await delete_prefix(prefix)


async def test_guessing_join_codes_from_one_token_ends_in_4429() -> None:
    with running_server(env={"MARATANG_PLAYER_JOIN_FAILURES_PER_MINUTE": "3"}) as server:
        host_token, _ = await guest(server.base_url, "민지")
        host = await Client.hello(server.ws_url, host_token)
        code = (await host.request("session.create"))["code"]
        token, _ = await guest(server.base_url, "guesser")
        guesser = await Client.hello(server.ws_url, token)
        misses = [
            await guesser.request("session.join", code=BOWL_CODE_NOBODY_HAS) for _ in range(3)
        ]
        assert [m["code"] for m in misses] == ["session_not_found"] * 3
        await guesser.send({"t": "session.join", "code": BOWL_CODE_NOBODY_HAS, "rid": "last"})
        assert (await guesser.closed)[0] == 4429
        assert guesser.received[-1]["code"] == "rate_limited"
        # A new socket of the same player gets no more lookups, even with a good code.
        again = await Client.hello(server.ws_url, token)
        await again.send({"t": "session.join", "code": code, "rid": 1})
        assert (await again.closed)[0] == 4429
        assert not any(m["t"] == "player.joined" for m in host.received)


async def test_guessing_join_codes_with_many_tokens_from_one_address_ends_in_4429() -> None:
    prefix = throwaway_prefix()
    env = cluster_env(
        prefix,
        MARATANG_PLAYER_JOIN_FAILURES_PER_MINUTE="100",
        MARATANG_ADDRESS_JOIN_FAILURES_PER_MINUTE="4",
    )
    try:
        with ExitStack() as stack:
            servers = [
                stack.enter_context(running_server("--engine", REDIS_URL, env=env))
                for _ in range(2)
            ]
            clients = [  # two tokens on one process, a third on the other: one address
                await Client.hello(server.ws_url, (await guest(server.base_url, f"g{n}"))[0])
                for n, server in enumerate([servers[0], servers[0], servers[1]])
            ]
            for client in clients[:2]:
                for _ in range(2):
                    missed = await client.request("session.join", code=BOWL_CODE_NOBODY_HAS)
                    assert missed["code"] == "session_not_found"
            await clients[2].send({"t": "session.join", "code": BOWL_CODE_NOBODY_HAS})
            assert (await clients[2].closed)[0] == 4429
            await Client.close_all()
    finally:
        await delete_prefix(prefix)


async def test_an_address_may_open_only_so_many_sockets_a_second() -> None:
    env = {"MARATANG_ADDRESS_CONNECTS_PER_SECOND": "0.1", "MARATANG_ADDRESS_CONNECTS_BURST": "3"}
    with running_server(env=env) as server:
        for _ in range(3):
            await Client.open(server.ws_url)
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(server.ws_url)
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "1"


async def test_an_address_may_have_only_so_many_sockets_before_hello() -> None:
    with running_server(env={"MARATANG_ADDRESS_PENDING": "2"}) as server:
        token, _ = await guest(server.base_url, "민지")
        waiting = [await Client.open(server.ws_url) for _ in range(2)]
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(server.ws_url)
        assert refused.value.response.status_code == 429
        await waiting[0].send({"t": "hello", "token": token})
        await waiting[0].wait_for(lambda m: m["t"] == "welcome")
        admitted = await Client.open(server.ws_url)  # one of the two said hello: room again
        await admitted.send({"t": "hello", "token": token})
        await admitted.wait_for(lambda m: m["t"] == "welcome")


async def test_an_address_may_hold_only_so_many_sockets() -> None:
    with running_server(env={"MARATANG_ADDRESS_SOCKETS": "2"}) as server:
        first, second = [
            await Client.hello(server.ws_url, (await guest(server.base_url, f"p{n}"))[0])
            for n in range(2)
        ]
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(server.ws_url)
        assert refused.value.response.status_code == 429
        await first.close()
        token, _ = await guest(server.base_url, "p3")
        assert (await eventually_welcomed(server, token)).received[0]["t"] == "welcome"
        assert not second.closed.done()


def test_an_ipv4_client_of_a_dual_stack_socket_counts_as_itself() -> None:
    rules = AddressRules(20, 60, 500, 30, 60, AddressRules.parse_exempt("10.0.0.0/8"))
    limits = AddressLimits(rules)
    assert limits.key("::ffff:203.0.113.7") == "203.0.113.7"
    assert limits.key("::ffff:203.0.113.8") != limits.key("::ffff:203.0.113.7")
    assert limits.key("::ffff:10.1.2.3") is None  # exempt, as its IPv4 self is
    assert (
        limits.key("2001:db8:1:2:3:4:5:6") == limits.key("2001:db8:1:2::9") == ("2001:db8:1:2::/64")
    )


async def test_exempt_addresses_are_not_limited() -> None:
    env = {"MARATANG_ADDRESS_PENDING": "1", "MARATANG_LIMIT_EXEMPT": "10.0.0.0/8, 127.0.0.1"}
    with running_server(env=env) as server:
        waiting = [await Client.open(server.ws_url) for _ in range(3)]
        assert all(not client.closed.done() for client in waiting)


async def test_an_address_may_sign_in_only_so_many_guests_a_minute() -> None:
    with running_server(env={"MARATANG_ADDRESS_SIGNINS_PER_MINUTE": "2"}) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            answers = [await http.post("/api/auth/guest", json={"name": "민지"}) for _ in range(3)]
            behind_proxy = await http.post(  # nginx (trusted) says who the client is
                "/api/auth/guest", json={"name": "민지"}, headers={"X-Forwarded-For": "10.1.2.3"}
            )
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert answers[2].headers["Retry-After"] == "60"
    assert behind_proxy.status_code == 200


async def test_a_process_holds_only_so_many_sockets_and_still_answers_http() -> None:
    with running_server(env={"MARATANG_MAX_CONNECTIONS": "2"}) as server:
        token, _ = await guest(server.base_url, "민지")
        await Client.hello(server.ws_url, token)
        await Client.hello(server.ws_url, token)
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(server.ws_url)
        assert refused.value.response.status_code == 503
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            health = await http.get("/healthz")
            signed_in = await http.post("/api/auth/guest", json={"name": "Alex"})
        assert (health.status_code, signed_in.status_code) == (200, 200)


@pytest.fixture
def slow_heads() -> Iterator[Server]:
    with running_server(env={"MARATANG_HEADER_TIMEOUT": "1"}) as server:
        yield server


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_request_head_that_does_not_arrive_in_time_is_answered_408(slow_heads: Server) -> None:
    with socket.create_connection((slow_heads.host, slow_heads.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ... and never the rest
        started = time.monotonic()
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 0.8 < time.monotonic() - started < 5


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_head(
    slow_heads: Server,
) -> None:
    with socket.create_connection((slow_heads.host, slow_heads.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request's head, unfinished
        answers = read_all(sock)
    first, _, then = answers.partition(b'"engine_state":"up"}')
    assert first.startswith(b"HTTP/1.1 200 ")
    assert then.startswith(b"HTTP/1.1 408 ")
