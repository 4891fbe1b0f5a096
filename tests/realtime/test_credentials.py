"""Nothing leaks: no credential in `/healthz`, the logs or an error message, and no secret
anyone could guess signs tokens."""

from __future__ import annotations

import httpx
import pytest

from tests.realtime.conftest import PASSWORD
from tests.realtime.test_settings_and_cli import run_cli
from tests.support.client import Client, guest
from tests.support.redis import PrivateRedis, delete_prefix, free_port, throwaway_prefix
from tests.support.server import running_server


async def test_health_and_logs_name_the_engine_but_never_its_password(
    guarded_redis: PrivateRedis,
) -> None:
    env = {"MARATANG_REDIS_PREFIX": "test:"}  # a Redis of the test's own, gone after it
    with running_server("--engine", guarded_redis.url, env=env) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            health = (await http.get("/healthz")).json()
        seat_token, _ = await guest(server.base_url, "민지")
        client = await Client.hello(server.ws_url, seat_token)
        assert (await client.request("session.create"))["t"] == "ack"
        await client.close()
    assert health == {"status": "ok", "engine": "redis", "engine_state": "up"}
    assert server.said("redis at redis://default:***@127.0.0.1")
    assert not server.said(PASSWORD)


async def test_a_wrong_password_is_reported_as_unreachable_without_the_password(
    guarded_redis: PrivateRedis,
) -> None:
    wrong = guarded_redis.url.replace(PASSWORD, "not-the-" + PASSWORD)
    with running_server("--engine", wrong) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            health = (await http.get("/healthz")).json()
        token, _ = await guest(server.base_url, "민지")
        client = await Client.open(server.ws_url)
        await client.send({"t": "hello", "token": token})
        await client.closed
    assert (health["status"], health["engine_state"]) == ("degraded", "unreachable")
    assert not server.said(PASSWORD)


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--engine", f"mysql://root:{PASSWORD}@db:3306/x"),
        ("serve", "--database-url", f"mysql://root:{PASSWORD}@db/x"),
        ("serve", "--llm-url", f"ftp://root:{PASSWORD}@gpu:8000"),
        ("migrate", "--database-url", f"mysql://root:{PASSWORD}@db/x"),
    ],
)
def test_a_refused_url_is_never_echoed_with_its_password(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/nowhere",  # nobody listens
        f"postgresql://postgres@127.0.0.1:5432/maratang_missing_db?password={PASSWORD}",
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/x",
    ],
    ids=["nobody-listens", "no-such-database", "not-a-port"],  # the same in every collection
)
def test_a_failed_migration_says_why_in_one_line_with_exit_1(url: str) -> None:
    result = run_cli("migrate", "--database-url", url)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("maratang migrate: the database could not be migrated: ")
    assert PASSWORD not in result.stdout + result.stderr


async def test_each_development_run_signs_with_a_secret_of_its_own() -> None:
    with running_server(env={"MARATANG_SECRET": ""}) as first:
        token, _ = await guest(first.base_url, "민지")
        assert first.said("secret: a random one for this run")
    with running_server(env={"MARATANG_SECRET": ""}) as second:
        client = await Client.open(second.ws_url)
        await client.send({"t": "hello", "token": token})
        assert (await client.closed)[0] == 4401


async def test_the_workers_of_one_development_run_share_its_secret() -> None:
    prefix = throwaway_prefix()
    flags = ("--workers", "2", "--engine", "redis://127.0.0.1:6379/0")
    env = {"MARATANG_SECRET": "", "MARATANG_REDIS_PREFIX": prefix}
    try:
        with running_server(*flags, env=env) as server:
            # Six tokens, each signed by one worker and checked by whichever takes its socket:
            # all twelve landing on one worker is a chance of 1 in 2,048.
            for n in range(6):
                token, _ = await guest(server.base_url, f"p{n}")
                client = await Client.hello(server.ws_url, token)
                assert client.received[0]["t"] == "welcome"
            await Client.close_all()
    finally:
        await delete_prefix(prefix)
