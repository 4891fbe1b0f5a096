"""Bad input gets a clear answer, and nothing breaks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from protocol.codec import MSGPACK_SUBPROTOCOL
from tests.realtime.conftest import open_table, sit
from tests.support.client import Client, guest
from tests.support.server import Server, running_server

MiB = 1024 * 1024


async def test_malformed_and_unknown_frames_get_errors_and_the_socket_stays_open(
    server: Server,
) -> None:
    seat = await sit(server, "민지")
    await seat.client.socket.send("{this is not json")
    bad = await seat.client.wait_for(lambda m: m["t"] == "error")
    assert bad["code"] == "bad_frame"
    await seat.client.socket.send('["t", "ping"]')
    assert (await seat.client.wait_for(lambda m: m["t"] == "error"))["code"] == "bad_frame"
    unknown = await seat.client.request("dance")
    assert (unknown["t"], unknown["code"], unknown["retry"]) == ("error", "unknown_type", False)
    await seat.client.send({"t": "ping", "ts": 12.5, "rid": "p"})
    pong = await seat.client.wait_for(lambda m: m["t"] == "pong")
    assert (pong["ts"], pong["rid"]) == (12.5, "p")


async def test_malformed_msgpack_gets_a_bad_frame_error(server: Server) -> None:
    seat = await sit(server, "Alex", MSGPACK_SUBPROTOCOL)
    await seat.client.socket.send(b"\xc1\xc1")
    assert (await seat.client.wait_for(lambda m: m["t"] == "error"))["code"] == "bad_frame"
    await seat.client.send({"t": "ping", "ts": 1})
    assert (await seat.client.wait_for(lambda m: m["t"] == "pong"))["ts"] == 1


async def test_a_frame_over_the_size_limit_closes_the_socket_with_1009(server: Server) -> None:
    seat = await sit(server, "민지")
    await seat.client.send({"t": "ping", "ts": 1, "pad": "x" * 70_000})
    code, _ = await seat.client.closed
    assert code == 1009


async def test_no_hello_in_time_closes_with_4401() -> None:
    with running_server(env={"MARATANG_HELLO_TIMEOUT": "0.5"}) as server:
        client = await Client.open(server.ws_url)
        code, _ = await client.closed
        assert code == 4401
        assert client.received[0]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "hello",
    [
        {"t": "hello", "token": "forged.token"},
        {"t": "ping", "ts": 1},
        {"t": "hello"},
    ],
)
async def test_a_failed_hello_closes_with_4401(server: Server, hello: dict[str, Any]) -> None:
    client = await Client.open(server.ws_url)
    await client.send(hello)
    code, _ = await client.closed
    assert code == 4401
    assert client.received[0]["t"] == "error"


async def test_a_token_signed_with_another_secret_is_refused(server: Server) -> None:
    with running_server(env={"MARATANG_SECRET": "another-secret"}) as other:
        token, _ = await guest(other.base_url, "민지")
    client = await Client.open(server.ws_url)
    await client.send({"t": "hello", "token": token})
    assert (await client.closed)[0] == 4401


async def test_an_unknown_protocol_version_is_refused_at_the_handshake(server: Server) -> None:
    with pytest.raises(InvalidStatus) as caught:
        await Client.open(server.ws_url, "maratang.v2.msgpack")
    assert caught.value.response.status_code == 403


BOWL_CASES: list[tuple[dict[str, Any], str]] = [
    ({"ingredients": ["bok_choy", "enoki"], "spice": 1}, "ingredients"),
    (
        {
            "ingredients": ["bok_choy", "enoki", "beef", "lamb", "squid", "potato", "shrimp"],
            "spice": 1,
        },
        "ingredients",
    ),
    ({"ingredients": ["bok_choy", "enoki", "bok_choy"], "spice": 1}, "ingredients"),
    ({"ingredients": ["bok_choy", "enoki", "unicorn"], "spice": 1}, "ingredients"),
    ({"ingredients": ["bok_choy", "enoki", "beef"], "spice": 5}, "spice"),
    ({"ingredients": ["bok_choy", "enoki", "beef"], "spice": -1}, "spice"),
    ({"ingredients": ["bok_choy", "enoki", "beef"], "spice": 1, "round": 2}, "round"),
]


async def test_invalid_bowls_are_refused_naming_the_field(server: Server) -> None:
    table = await open_table(server, ["민지"], rounds=2)
    await table.host.request("game.start")
    for fields, field in BOWL_CASES:
        answer = await table.host.request("bowl.submit", **{"round": 1, **fields})
        assert (answer["t"], answer["code"], answer["field"]) == ("error", "invalid", field), fields
    ok = await table.host.request(
        "bowl.submit", round=1, ingredients=["beef", "lamb", "squid"], spice=2
    )
    assert ok["t"] == "ack"


async def test_commands_in_the_wrong_phase_or_by_the_wrong_player_are_refused(
    server: Server,
) -> None:
    table = await open_table(server, ["민지", "Alex"], rounds=1)
    guest_client = table.seats[1].client
    early = await table.host.request(
        "bowl.submit", round=1, ingredients=["beef", "lamb", "squid"], spice=1
    )
    assert early["code"] == "wrong_phase"
    assert (await guest_client.request("game.start"))["code"] == "not_host"
    assert (await guest_client.request("session.settings", rounds=3))["code"] == "not_host"
    assert (await table.host.request("game.start"))["t"] == "ack"
    assert (await table.host.request("game.start"))["code"] == "wrong_phase"
    assert (await table.host.request("session.settings", rounds=3))["code"] == "wrong_phase"


async def test_a_seventh_player_is_refused_and_unknown_codes_are_not_found(
    server: Server,
) -> None:
    table = await open_table(server, [f"P{n}" for n in range(6)])
    seventh = await sit(server, "P7")
    full = await seventh.client.request("session.join", code=table.code)
    assert (full["code"], full["retry"]) == ("session_full", False)
    missing = await seventh.client.request("session.join", code="ZZZZZZ")
    assert missing["code"] == "session_not_found"
    malformed = await seventh.client.request("session.join", code="zz")
    assert (malformed["code"], malformed["field"]) == ("invalid", "code")


async def test_a_failed_join_keeps_the_seat_the_player_had(server: Server) -> None:
    mine = await open_table(server, ["민지", "Alex"])
    full = await open_table(server, [f"P{n}" for n in range(6)])
    alex = mine.seats[1].client
    assert (await alex.request("session.join", code=full.code))["code"] == "session_full"
    assert (await alex.request("session.settings", rounds=3))["code"] == "not_host"  # still seated
    assert not any(m["t"] == "player.left" for m in mine.host.received)


async def test_refusals_of_well_formed_commands_do_not_close_the_socket(server: Server) -> None:
    seat = await sit(server, "민지")
    for _ in range(25):
        assert (await seat.client.request("game.start"))["code"] == "not_in_session"
    assert (await seat.client.request("session.create"))["t"] == "ack"


async def test_table_commands_need_a_table(server: Server) -> None:
    seat = await sit(server, "민지")
    for t in ("game.start", "session.leave", "session.settings"):
        assert (await seat.client.request(t))["code"] == "not_in_session"


async def test_a_flood_of_commands_is_rate_limited() -> None:
    env = {"MARATANG_RATE_PER_SECOND": "1", "MARATANG_RATE_BURST": "3"}
    with running_server(env=env) as server:
        seat = await sit(server, "민지")
        answers = [await seat.client.request("session.leave") for _ in range(5)]
        codes = [a["code"] for a in answers]
        assert codes[:3] == ["not_in_session"] * 3
        assert "rate_limited" in codes[3:]
        limited = next(a for a in answers if a["code"] == "rate_limited")
        assert limited["retry"] is True


async def test_repeated_bad_frames_close_the_socket_for_abuse(server: Server) -> None:
    seat = await sit(server, "민지")
    for _ in range(20):
        await seat.client.socket.send("nonsense")
    assert (await seat.client.closed)[0] == 4429


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 17}, "name"),
        ({"name": 7}, "name"),
        ({}, "name"),
    ],
)
async def test_guest_sign_in_refuses_bad_names(
    server: Server, body: dict[str, Any], field: str
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/auth/guest", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


async def test_guest_sign_in_refuses_a_body_that_is_not_json(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/auth/guest", content=b"name=minji")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_frame"


async def sign_in_raw(server: Server, head: bytes, body: bytes) -> bytes:
    """What the server answers a sign-in sent as `head` and `body`, up to its hanging up."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"POST /api/auth/guest HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + body)
    try:
        return await asyncio.wait_for(reader.read(), 5)  # until it hangs up: it must
    finally:
        writer.close()


async def test_a_huge_sign_in_body_is_refused_without_being_read(server: Server) -> None:
    async def sixty_four_mib() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * MiB

    before = server.rss()
    declared = await sign_in_raw(server, b"Content-Length: %d\r\n" % (300 * MiB), b"{")
    chunk = b"x" * 8192
    chunked = await sign_in_raw(
        server, b"Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n" % (len(chunk), chunk)
    )
    for answer in (declared, chunked):
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in answer.lower()  # the rest of the body is not taken
        assert b'"too_large"' in answer
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        with contextlib.suppress(httpx.TransportError):  # hung up on mid-upload, as it should
            streamed = await http.post("/api/auth/guest", content=sixty_four_mib())
            assert streamed.status_code == 413
    assert server.rss() - before < 16 * MiB


async def test_a_sign_in_body_that_does_not_arrive_in_time_is_answered_408() -> None:
    with running_server(env={"MARATANG_HEADER_TIMEOUT": "1"}) as server:
        started = time.monotonic()
        # Half a body, then nothing: a client that stopped sending.
        answer = await sign_in_raw(server, b"Content-Length: 40\r\n", b'{"name": ')
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"timeout"' in answer
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("token", ["héllo.wörld", "토큰.서명", "\x00\x01", "a" * 5000, "."])
async def test_any_token_text_gets_an_error_and_4401_without_a_traceback(
    server: Server, token: str
) -> None:
    client = await Client.open(server.ws_url)
    await client.send({"t": "hello", "token": token})
    code, _ = await client.closed
    assert code == 4401
    assert (client.received[0]["t"], client.received[0]["code"]) == ("error", "unauthorized")
    assert not server.said("Traceback")


@pytest.mark.parametrize(
    "query",
    [
        "limit=%C2%B2",  # superscript two: a digit to str.isdigit, not to int()
        "limit=%D9%A3",
        "limit=-1",
        "limit=1e3",
        "before=" + "9" * 5000,
        "before=%C2%B9",
    ],
)
async def test_page_bounds_that_are_not_plain_digits_get_400(server: Server, query: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get(f"/api/players/p_abcdefabcdef/games?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


async def test_paths_and_methods_the_api_does_not_have_get_its_json_errors(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        missing = await http.get("/api/nothing/here")
        wrong = await http.delete("/api/catalog")
        page = await http.get("/no-such-page.html")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert page.status_code == 404
    assert "json" not in page.headers["content-type"]  # only the API speaks JSON


@pytest.mark.parametrize("session", ["nonsense", "s_" + "x" * 5000, "s_ok/../../etc"])
async def test_a_resume_naming_no_possible_table_gets_a_welcome_without_a_table(
    server: Server, session: str
) -> None:
    token, _ = await guest(server.base_url, "민지")
    client = await Client.hello(server.ws_url, token, resume=(session, 3))
    assert client.received[0]["t"] == "welcome"
    assert client.received[0].get("session") is None
