"""The table inspector (`/admin` and its API, `/admin/api/...`) against a real `maratang
serve`: off without a token, closed to a request without it, and what it says of tables while
they are played, on one process and on many, and of finished games in PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from realtime.cli import check, describe
from realtime.settings import Settings
from tests.realtime.conftest import FAST_ENV, Table, open_table, play_round
from tests.realtime.test_many_processes import cluster_env, table_across
from tests.realtime.test_settings_and_cli import run_cli
from tests.support.client import Message
from tests.support.postgres import database_url
from tests.support.proxy import Proxy
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server, running_sim

TOKEN = f"{secrets.token_hex(16)}:{secrets.token_hex(16)}"
"""With a colon in it: a Basic password is all that follows the user name's colon."""
CHALLENGE = 'Basic realm="Maratang table inspector", charset="UTF-8"'
PATHS = ("/admin", "/admin/inspector.js", "/admin/inspector.css", "/admin/api/tables")
ON = {**FAST_ENV, "MARATANG_ADMIN_TOKEN": TOKEN}
STREAMING = ("--fallback-tps", "20")
"""Slow enough that a narration streams for seconds while the test looks at it."""
FAST = ("--fallback-tps", "400")

Answer = dict[str, Any]


async def admin(server: Server, path: str, status: int = 200, **params: Any) -> Answer:
    """`GET /admin/api<path>` with the admin token, answered with `status`."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/admin/api" + path, headers=headers, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["cache-control"] == "no-store" or status == 404
    body: Answer = answer.json()
    return body


async def until(
    server: Server, path: str, holds: Callable[[Answer], bool], timeout: float = 20
) -> Answer:
    """The first answer of `path` for which `holds` is true, asking again until then."""
    async with asyncio.timeout(timeout):
        while True:
            answer = await admin(server, path)
            if holds(answer):
                return answer
            await asyncio.sleep(0.05)  # polling the server under test; bounded above


def listed(answer: Answer, session: str) -> Answer | None:
    return next((t for t in answer["tables"] if t["session"] == session), None)


async def whole_log(server: Server, session: str, page: int) -> list[Message]:
    """Every event of the table's log, read `page` events at a time."""
    events: list[Message] = []
    after = 0
    while True:
        answer = await admin(server, f"/tables/{session}/events", after=after, limit=page)
        assert answer["from"] == after
        events += answer["events"]
        after = answer["next"]
        if not answer["more"]:
            return events


def deltas_up_to(received: list[Message], nid: str, seq: int) -> str:
    return "".join(
        m["text"]
        for m in received
        if m["t"] == "narration.delta" and m["nid"] == nid and m["seq"] <= seq
    )


@pytest.fixture
def server() -> Iterator[Server]:
    with running_server(*STREAMING, env=ON) as running:
        yield running


async def test_without_a_token_set_the_inspector_is_not_there() -> None:
    with running_server(*FAST, env=FAST_ENV) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            answers = [
                await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
                for path in ("/admin", "/admin/inspector.js", "/admin/api/tables")
            ]
    assert [a.status_code for a in answers] == [404, 404, 404]


def basic(user: bytes, password: bytes) -> str:
    return "Basic " + base64.b64encode(user + b":" + password).decode()


WRONG = [
    *(f"Bearer {token}" for token in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper())),
    basic(b"admin", b"wrong"),
    basic(b"admin", TOKEN.encode()[:-1]),
    basic(TOKEN.encode(), b""),  # the token as the user name
    "Basic " + base64.b64encode(TOKEN.encode()).decode(),  # its colon ends a user name
    "Basic not base64!",
    f"Token {TOKEN}",
]
"""`Authorization` headers that carry another token, or none."""
RIGHT = [
    basic(b"operator", TOKEN.encode()),
    basic(b"", TOKEN.encode()),  # any user name, none included
    basic("운영자".encode(), TOKEN.encode()),  # in UTF-8
    basic("opérateur".encode("latin-1"), TOKEN.encode()),  # or not
    f"Bearer {TOKEN}",
    f"bearer  {TOKEN}",
]
"""`Authorization` headers that carry the token."""


async def test_every_inspector_path_refuses_a_request_without_the_right_token(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for path in (*PATHS, "/admin/api/elsewhere", "/admin/elsewhere/deeper"):
            for headers in [{}, *({"Authorization": wrong} for wrong in WRONG)]:
                refused = await http.get(path, headers=headers)
                assert refused.status_code == 401, (path, headers)
                assert refused.headers["www-authenticate"] == CHALLENGE
                assert refused.headers["cache-control"] == "no-store"
                assert "Bearer" in refused.text
                assert "<script" not in refused.text
            for query in ("token", "access_token", "password"):  # never a token in the URL
                in_url = await http.get(path, params={query: TOKEN})
                assert in_url.status_code == 401, (path, query)
        api = (await http.get("/admin/api/tables")).json()
        page = await http.get("/admin")
    assert api["error"]["code"] == "unauthorized"  # the API's error shape
    assert "Bearer" in api["error"]["message"]
    assert page.headers["content-type"].startswith("text/plain")  # shown if the prompt is closed


async def test_the_token_opens_every_inspector_path_as_basic_or_bearer(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for right in RIGHT:
            for path in PATHS:
                answer = await http.get(path, headers={"Authorization": right})
                assert answer.status_code == 200, (path, right)
                assert answer.headers["cache-control"] == "no-store"
        page = await http.get("/admin", auth=("operator", TOKEN))  # as curl -u sends it
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "<script src=" in page.text
    assert "<script>" not in page.text  # no inline script
    known = await admin(server, "/tables")
    assert known["tables"] == []


async def test_a_table_being_played_is_listed_with_seats_narration_and_queues(
    server: Server,
) -> None:
    table = await open_table(server, ["민지", "Alex", "서준"], rounds=1)
    assert (await table.host.request("game.start"))["t"] == "ack"

    def streaming(answer: Answer) -> bool:
        entry = listed(answer, table.session)
        narration = entry and entry["narration"]
        return bool(narration and narration["streaming"] and narration["characters"] > 0)

    answer = await until(server, "/tables", streaming)
    entry = listed(answer, table.session)
    assert entry is not None
    assert (entry["code"], entry["phase"], entry["round"], entry["rounds"]) == (
        table.code,
        "picking",
        1,
        1,
    )
    assert entry["host"] == table.seats[0].player["id"]
    assert entry["seats"] == [
        {"player": s.player["id"], "name": s.player["name"], "presence": "connected", "total": 0}
        for s in table.seats
    ]
    narration = entry["narration"]
    assert (narration["kind"], narration["round"], narration["source"]) == (
        "entrance",
        1,
        "fallback",
    )
    assert narration["sources"] == ["fallback"]
    assert entry["this_process"]["sockets"] == 3
    assert entry["this_process"]["relaying"] == narration["nid"]
    assert answer["this_process"]["sockets"] == 3
    assert answer["narration"]["slots"] == []  # the templates take no model slot
    assert answer["records"] == {"kept": False, "this_process": {"pending": 0}}

    await table.seats[2].client.close()
    answer = await until(
        server,
        "/tables",
        lambda a: (listed(a, table.session) or {})["seats"][2]["presence"] == "away",
    )
    assert (listed(answer, table.session) or {})["this_process"]["sockets"] == 2


async def test_a_tables_detail_holds_the_narration_told_up_to_its_seq(server: Server) -> None:
    table = await open_table(server, ["민지", "Alex"], rounds=1)
    await table.host.request("game.start")
    await table.host.wait_for(lambda m: m["t"] == "narration.delta")
    detail = await admin(server, f"/tables/{table.session}")
    narration = detail["narration"]
    assert narration["streaming"]
    await table.host.caught_up(table.session, detail["seq"])
    told = deltas_up_to(table.host.received, narration["nid"], detail["seq"])
    assert narration["text"] == told
    assert narration["characters"] == len(told)
    assert detail["state"]["narration"]["text"] == told  # as a spectator's sync shows it
    assert detail["state"]["code"] == table.code
    players = {p["player"]: p for p in detail["players"]}
    host, guest = (players[s.player["id"]] for s in table.seats)
    assert (host["host"], guest["host"]) == (True, False)
    assert [s["codec"] for s in host["sockets_here"]] == ["maratang.v1.json"]
    assert [s["codec"] for s in guest["sockets_here"]] == ["maratang.v1.msgpack"]
    assert all(s["queued_bytes"] >= 0 for s in host["sockets_here"] + guest["sockets_here"])

    await table.host.wait_for(lambda m: m["t"] == "narration.end", 30)
    ended = await until(
        server, f"/tables/{table.session}", lambda d: not d["narration"]["streaming"]
    )
    end = next(m for m in table.host.received if m["t"] == "narration.end")
    assert ended["narration"]["text"] == end["text"]
    assert ended["narration"]["source"] == "fallback"


async def test_the_event_log_replays_what_the_players_received() -> None:
    with running_server(*FAST, env=ON) as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        await table.host.request("game.start")
        await play_round(table, 1)
        for seat in table.seats:
            await seat.client.wait_for(
                lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30
            )
        await assert_replayed(server, table)
        first = await admin(server, f"/tables/{table.session}/events", after=0, limit=5)
        assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4, 5]
        assert first["more"]
        await check_refusals(server, table)


async def assert_replayed(server: Server, table: Table) -> None:
    """The log, read in pages, is every event the players received (either codec), in the
    same order, with nothing missing."""
    log = await whole_log(server, table.session, page=7)
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    for seat in table.seats:
        received = seat.client.events(table.session)
        assert received, "the player received no event"
        assert log[received[0]["seq"] - 1 :] == received


async def check_refusals(server: Server, table: Table) -> None:
    last = (await admin(server, f"/tables/{table.session}"))["seq"]
    for path, params, status in [
        ("/tables/nonsense", {}, 400),
        ("/tables/s_nosuchtable", {}, 404),
        ("/tables/s_nosuchtable/events", {}, 404),
        (f"/tables/{table.session}/events", {"after": last + 1}, 400),
        (f"/tables/{table.session}/events", {"after": -1}, 400),
        (f"/tables/{table.session}/events", {"limit": 0}, 400),
        ("/tables", {"limit": 100_000}, 400),
        ("/games", {"before": "yesterday"}, 400),
    ]:
        refused = await admin(server, path, status=status, **params)
        assert set(refused["error"]) >= {"code", "message"}
    caught_up = await admin(server, f"/tables/{table.session}/events", after=last)
    assert (caught_up["events"], caught_up["next"], caught_up["more"]) == ([], last, False)


async def test_without_a_database_the_games_list_is_empty_and_says_why(server: Server) -> None:
    answer = await admin(server, "/games")
    assert (answer["kept"], answer["games"], answer["next"]) == (False, [], None)
    assert "without a database" in answer["message"]
    missing = await admin(server, "/games/g_abcdefabcdef", status=503)
    assert missing["error"]["code"] == "unavailable"


async def test_model_narrations_show_the_slots_they_hold_and_the_ones_waiting() -> None:
    env = {**ON, "MARATANG_LLM_SLOTS": "1", "MARATANG_LLM_QUEUE_SECONDS": "20"}
    with (
        running_sim("--tps", "15", "--ttft", "0.05", "--output-tokens", "80") as sim,
        running_server(*FAST, "--llm-url", sim.base_url, env=env) as server,
    ):
        first = await open_table(server, ["민지", "Alex"], rounds=1)
        await first.host.request("game.start")
        answer = await until(server, "/tables", lambda a: a["narration"]["slots"][0]["taken"] == 1)
        second = await open_table(server, ["서준", "Mina"], rounds=1)
        await second.host.request("game.start")  # its entrance waits for the one slot
        waiting = await until(
            server, "/tables", lambda a: a["narration"]["this_process"]["waiting_for_slot"] == 1
        )
    [slot] = answer["narration"]["slots"]
    assert slot == {"endpoint": sim.base_url, "taken": 1, "limit": 1, "breaker": "closed"}
    assert answer["narration"]["this_process"] == {"in_flight": 1, "waiting_for_slot": 0}
    assert answer["narration"]["model"] == Settings().llm_model
    assert waiting["narration"]["slots"][0]["taken"] == 1
    assert waiting["narration"]["this_process"]["in_flight"] == 1


def test_production_refuses_a_short_admin_token() -> None:
    secret = secrets.token_hex(32)
    result = run_cli(
        "serve",
        "--port",
        "0",
        MARATANG_ENV="production",
        MARATANG_SECRET=secret,
        MARATANG_ADMIN_TOKEN="letmein",
    )
    assert result.returncode == 2
    assert "MARATANG_ADMIN_TOKEN is too short" in result.stderr
    check(Settings(env="production", secret=secret, admin_token=secrets.token_hex(32)))
    check(Settings(env="production", secret=secret))  # no token: the inspector is off


def test_serve_says_when_the_inspector_is_on() -> None:
    on = describe(Settings(admin_token=TOKEN))
    assert "inspector: /admin, for requests bearing MARATANG_ADMIN_TOKEN" in on
    assert not any(TOKEN in line for line in on)
    assert not any(line.startswith("inspector:") for line in describe(Settings()))


# Many processes on Redis ------------------------------------------------------------------


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = throwaway_prefix()
    yield value
    await delete_prefix(value)


async def test_every_process_lists_every_table_whoever_holds_its_players(prefix: str) -> None:
    """A server of two workers and another process on one Redis: whichever answers lists
    every live table, its own sockets apart."""
    env = {**cluster_env(prefix), "MARATANG_ADMIN_TOKEN": TOKEN}
    with ExitStack() as stack:
        pair, single = (
            stack.enter_context(running_server("--engine", REDIS_URL, *flags, env=env))
            for flags in ((*STREAMING, "--workers", "2"), STREAMING)
        )
        on_pair = await table_across([pair], ["민지", "Alex"], rounds=1)
        on_single = await table_across([single], ["서준", "Mina"], rounds=1)
        await on_pair.host.request("game.start")

        def both_listed(answer: Answer) -> bool:
            narration = (listed(answer, on_pair.session) or {}).get("narration")
            here = listed(answer, on_single.session)
            return bool(narration and narration["characters"] > 0 and here)

        for server in (single, pair, pair, pair):  # each a new connection: either worker
            answer = await until(server, "/tables", both_listed)
            assert answer["this_process"]["workers"] == (2 if server is pair else 1)
            for table in (on_pair, on_single):
                entry = listed(answer, table.session)
                assert entry is not None
                names = [s["name"] for s in entry["seats"]]
                assert names == [s.player["name"] for s in table.seats]
                assert {s["presence"] for s in entry["seats"]} == {"connected"}
        from_single = await admin(single, "/tables")
        assert (listed(from_single, on_single.session) or {})["this_process"]["sockets"] == 2
        assert (listed(from_single, on_pair.session) or {})["this_process"]["sockets"] == 0

        await play_round(on_pair, 1)
        for seat in on_pair.seats:  # two more narrations at the streaming pace
            await seat.client.wait_for(
                lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 40
            )
        await assert_replayed(single, on_pair)  # read by a process that holds none of it


# Finished games in PostgreSQL ---------------------------------------------------------------


async def test_a_finished_game_is_read_from_the_database(database: str) -> None:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        url = database_url(database, proxy.port)
        with running_server(*FAST, "--database-url", url, env=ON) as server:
            table = await open_table(server, ["민지", "Alex"], rounds=1)
            await table.host.request("game.start")
            await play_round(table, 1)
            over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
            await table.host.wait_for(
                lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30
            )
            listing = await until(server, "/games", lambda a: len(a["games"]) == 1)
            game = await until(server, f"/games/{over['game']}", lambda g: g["finale"] is not None)
            await proxy.cut()
            down = await admin(server, "/games", status=503)
    finally:
        await proxy.close()
    [entry] = listing["games"]
    assert (entry["id"], entry["session"], entry["rounds"]) == (over["game"], table.session, 1)
    assert {p["name"] for p in entry["players"]} == {"민지", "Alex"}
    ends = {m["nid"]: m for m in table.host.received if m["t"] == "narration.end"}
    [round_one] = game["rounds"]
    told = [*round_one["narrations"], game["finale"]]
    assert [(n["nid"], n["text"], n["source"]) for n in told] == [
        (nid, end["text"], end["source"]) for nid, end in ends.items()
    ]
    assert down["error"]["code"] == "unavailable"
