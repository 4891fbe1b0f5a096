"""The logs: one JSON object per line (`--log-format json`) naming the session and player whose
work each line was, readable text by default, and never a credential, in a log line or in
`/healthz`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from protocol.codec import JSON_SUBPROTOCOL
from realtime import logs
from realtime.logs import JsonLines, TextLines, settings_secrets
from realtime.settings import Settings
from tests.realtime.conftest import PASSWORD, Seat, Table, open_table, play_round
from tests.realtime.test_records import recorded, until_logged
from tests.support.client import Client, Message, guest
from tests.support.postgres import create_database, database_url, drop_database, migrate
from tests.support.proxy import Proxy
from tests.support.redis import PrivateRedis
from tests.support.server import Server, running_server, running_sim
from tests.support.sim import configure as sim_config

API_KEY = "sk-narrator-" + "7c1f0e9a"
"""The key the model server asks for (a bearer token, never in a URL)."""
FIELDS = {"time", "level", "logger", "message"}
LEVELS = {"debug", "info", "warning", "error", "critical"}
HUB_ENV = {
    "MARATANG_LLM_API_KEY": API_KEY,
    "MARATANG_COALESCE_MS": "20",
    "MARATANG_FALLBACK_TPS": "400",
    "MARATANG_SNAPSHOT_SECONDS": "0.2",
    "MARATANG_LLM_FIRST_TOKEN_SECONDS": "2",
    "MARATANG_LLM_TOTAL_SECONDS": "5",
    "MARATANG_LLM_BREAKER_FAILURES": "1000",  # the refused narration leaves the model in use
}
SIM_FLAGS = ("--api-key", API_KEY, "--ttft", "0.05", "--tps", "150", "--output-tokens", "30")


def json_lines(output: Iterable[str]) -> list[dict[str, Any]]:
    """Every line of `output` read as a log line: each must be a JSON object with the time
    (ISO 8601, UTC), the level, the logger and the message."""
    found = []
    for text in "".join(output).splitlines():
        line = orjson.loads(text)
        assert isinstance(line, dict), text
        assert set(line) >= FIELDS, text
        assert line["level"] in LEVELS, text
        assert datetime.fromisoformat(line["time"]).utcoffset() == UTC.utcoffset(None), text
        found.append(line)
    return found


def written(line: Message) -> tuple[str | None, str | None]:
    return line.get("session"), line.get("player")


# In one process: the formats and whose work a line is ----------------------------------------


class Kept(logging.Handler):
    """Keeps what its formatter made of each line."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def kept_logger(formatter: logging.Formatter) -> tuple[logging.Logger, Kept]:
    logger = logging.getLogger(f"maratang.test.{id(formatter)}")
    logger.propagate = False
    kept = Kept(formatter)
    logger.addHandler(kept)
    logger.setLevel(logging.INFO)
    return logger, kept


CONFIGURED = Settings(
    engine=f"redis://default:{PASSWORD}@redis:6379/0",
    database_url=f"postgresql://maratang@db:5432/maratang?password={PASSWORD}",
    llm_url=f"http://narrator:{PASSWORD}@gpu:8000",
    llm_api_key=API_KEY,
)


def test_a_json_line_has_its_fields_and_no_credential_even_in_a_traceback() -> None:
    logger, kept = kept_logger(JsonLines(secrets=settings_secrets(CONFIGURED)))
    try:
        raise ConnectionError(f"could not reach {CONFIGURED.database_url} (user=maratang)")
    except ConnectionError:
        logger.exception(
            "a client said %s; sent Authorization: Bearer %s, then %s",
            CONFIGURED.engine,
            API_KEY,
            f"a key on its own: {API_KEY}",
        )
    (text,) = kept.lines
    line = orjson.loads(text)
    assert set(line) == FIELDS | {"exc"}
    assert (line["level"], line["logger"]) == ("error", logger.name)
    assert line["time"].endswith("Z")
    assert "redis://default:***@redis:6379/0" in line["message"]
    assert "Bearer ***" in line["message"]
    assert "a key on its own: ***" in line["message"]
    assert "ConnectionError: could not reach postgresql://maratang@db" in line["exc"]
    assert "password=***" in line["exc"]
    assert PASSWORD not in text
    assert API_KEY not in text


async def test_work_started_for_a_table_names_the_table_and_not_who_started_it() -> None:
    logger, kept = kept_logger(JsonLines())

    async def narrate() -> None:
        logger.info("telling")

    async def player_command() -> None:
        logs.tag(None, "p_host")
        with logs.about("s_table"):
            logger.info("committing")
            await asyncio.create_task(narrate(), context=logs.context_for("s_table"))
        logger.info("back in the lobby")

    await asyncio.create_task(player_command())  # a socket's task, as uvicorn runs each
    logger.info("the server's own work")
    found = [orjson.loads(text) for text in kept.lines]
    assert [(line["message"], written(line)) for line in found] == [
        ("committing", ("s_table", "p_host")),
        ("telling", ("s_table", None)),
        ("back in the lobby", (None, "p_host")),
        ("the server's own work", (None, None)),
    ]


def test_a_text_line_stays_readable_and_names_whose_work_it_was() -> None:
    formatter = TextLines(
        fmt="%(levelprefix)s %(name)s: %(message)s",
        use_colors=False,
        secrets=settings_secrets(CONFIGURED),
    )
    logger, kept = kept_logger(formatter)
    logger.warning("lost %s", CONFIGURED.llm_url, extra={"session": "s_1", "player": "p_1"})
    logger.info("plain")
    assert kept.lines == [
        f"WARNING:  {logger.name}: lost http://narrator:***@gpu:8000 [session=s_1 player=p_1]",
        f"INFO:     {logger.name}: plain",
    ]


# A real deployment: two workers, a guarded Redis, PostgreSQL and a model server ---------------


@dataclass
class Migrated:
    name: str
    said: str
    """What `maratang migrate` printed (stdout and stderr)."""


@pytest.fixture
async def migrated() -> AsyncIterator[Migrated]:
    """A throwaway database migrated as the app's container does it before serving, in JSON
    lines, through a URL with a password."""
    name = await create_database()
    result = migrate(database_url(name, password=PASSWORD), "--log-format", "json")
    assert result.returncode == 0, result.stderr
    yield Migrated(name, result.stdout + result.stderr)
    await drop_database(name)


async def health(server: Server, status: str, timeout: float = 15) -> str:
    """`/healthz` as it answers once it says `status` (the engine is asked once a second)."""
    async with httpx.AsyncClient(base_url=server.base_url) as http, asyncio.timeout(timeout):
        while True:
            answer = await http.get("/healthz")
            if answer.json()["status"] == status:
                return answer.text
            await asyncio.sleep(0.1)


def narration_end(nid: str) -> Any:
    return lambda m: m["t"] == "narration.end" and m["nid"] == nid


async def play_through_a_database_outage(server: Server, sim: Server, proxy: Proxy) -> Table:
    """A two-round game: the model refuses the first narration and tells the next; the
    database is cut for the second round, then back; a player's socket drops and resumes."""
    table = await open_table(server, ["민지", "Alex"], rounds=2)
    assert (await table.host.request("game.start"))["t"] == "ack"
    assert (await table.host.wait_for(narration_end("r1.entrance"), 20))["source"] == "fallback"
    await sim_config(sim, fault="none")
    await play_round(table, 1)
    assert (await table.host.wait_for(narration_end("r1.tasting"), 20))["source"] == "llm"
    await proxy.cut()
    await play_round(table, 2)
    over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
    await table.host.wait_for(narration_end("finale"), 30)
    await until_logged(server, "records: the database is unreachable")
    await proxy.restore()
    await recorded(server, over["game"], timeout=30)  # the writer is through with the outage
    seat = table.seats[1]
    seen = seat.client.events(table.session)[-1]["seq"]
    await seat.client.drop()
    back = await Client.hello(server.ws_url, seat.token, resume=(table.session, seen))
    await back.send({"t": "ping", "ts": 1, "rid": 1})  # answered once the resume is done
    await back.wait_for(lambda m: m["t"] == "pong")
    table.seats[1] = Seat(back, seat.player, seat.token)
    return table


async def test_json_logs_name_whose_work_each_line_was_and_never_a_password(
    guarded_redis: PrivateRedis, migrated: Migrated
) -> None:
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    answers: list[str] = []
    try:
        with (
            running_sim(*SIM_FLAGS, "--fault", "503") as sim,
            running_server(
                *("--workers", "2", "--log-format", "json", "--engine", guarded_redis.url),
                *("--database-url", database_url(migrated.name, proxy.port, PASSWORD)),
                *("--llm-url", f"http://narrator:{PASSWORD}@{sim.host}:{sim.port}"),
                env=HUB_ENV,
            ) as server,
        ):
            answers.append(await health(server, "ok"))
            table = await play_through_a_database_outage(server, sim, proxy)
            guarded_redis.kill()
            refused = await table.host.request("session.settings", rounds=1)
            assert (refused["t"], refused["code"]) == ("error", "busy")
            answers.append(await health(server, "degraded"))
            for words in ("not done: the engine is unreachable", "pub/sub", "deadlines wait"):
                await until_logged(server, words)
            guarded_redis.start()
            answers.append(await health(server, "ok"))
    finally:
        await proxy.close()

    for text in [migrated.said, *server.output, *answers]:
        assert PASSWORD not in text
        assert API_KEY not in text
    assert any("postgres:***@" in line["message"] for line in json_lines([migrated.said]))
    lines = json_lines(server.output)
    assert (
        len({line["message"] for line in lines if "Started server process" in line["message"]}) == 2
    )
    assert any(line["logger"] == "uvicorn.access" for line in lines)
    assert any(
        "engine: redis at redis://default:***@127.0.0.1" in line["message"] for line in lines
    )
    host, other = (seat.player["id"] for seat in table.seats)
    socket_lines(lines, table.session, host, other)
    table_lines(lines, table.session)


def socket_lines(lines: list[dict[str, Any]], session: str, host: str, other: str) -> None:
    """Each socket's lines name its player, and its table once seated."""
    welcomes = [line for line in lines if line["message"].startswith("welcome (")]
    assert {line["player"] for line in welcomes} == {host, other}
    resumed = [written(line) for line in welcomes if " after seq " in line["message"]]
    assert resumed == [(session, other)]
    (refusal,) = (line for line in lines if "session.settings not done" in line["message"])
    assert written(refusal) == (session, host)


def table_lines(lines: list[dict[str, Any]], session: str) -> None:
    """A narration's lines name its table and no player (though a player's command started
    it); the work of no one in particular names no one."""
    (refused,) = (
        line
        for line in lines
        if "narration r1.entrance of" in line["message"]
        and "handed to the fallback" in line["message"]
    )
    assert written(refused) == (session, None)
    for logger, words in [
        ("maratang.redis", "pub/sub connection lost"),
        ("maratang.records", "the database is unreachable"),
        ("maratang.deadlines", "the engine is unreachable"),
    ]:
        found = [line for line in lines if line["logger"] == logger and words in line["message"]]
        assert found, (logger, words)
        assert {written(line) for line in found} == {(None, None)}


async def test_the_text_format_stays_readable() -> None:
    with running_server() as server:
        token, player = await guest(server.base_url, "민지")
        await Client.hello(server.ws_url, token)
        await until_logged(server, "welcome (")
    text = "".join(server.output)
    assert "Maratang starting on the embedded defaults:\n  engine: memory" in text
    welcome = rf"^INFO: +maratang\.ws: welcome \({re.escape(JSON_SUBPROTOCOL)}, new\) "
    assert re.search(welcome + rf"\[player={player['id']}\]$", text, re.MULTILINE), text
    assert not any(line.startswith("{") for line in server.output)
