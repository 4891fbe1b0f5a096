"""Settings from the environment and flags; what `maratang serve` says when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields

import httpx
import pytest
from websockets.asyncio.client import connect

from llm.http_client import HTTPClient
from realtime.cli import describe, narrator_line, parser
from realtime.narrator_setup import checks
from realtime.settings import Settings, from_environment, with_overrides
from tests.support.server import ROOT, Server


def test_defaults_are_the_documented_ones() -> None:
    settings = from_environment({})
    assert settings == Settings()
    assert (settings.hello_timeout, settings.grace_seconds, settings.fallback_tps) == (10, 60, 30)
    assert settings.secret == ""  # development: `serve` makes a random one per run


def test_the_environment_sets_and_flags_override() -> None:
    env = {"MARATANG_PORT": "9001", "MARATANG_FALLBACK_TPS": "12.5", "MARATANG_SECRET": "s3"}
    settings = from_environment(env)
    assert (settings.port, settings.fallback_tps, settings.secret) == (9001, 12.5, "s3")
    assert with_overrides(settings, port=None, fallback_tps=50.0).fallback_tps == 50.0
    assert with_overrides(settings, port=None).port == 9001


def test_a_bad_environment_value_names_the_setting() -> None:
    with pytest.raises(ValueError, match="MARATANG_PORT"):
        from_environment({"MARATANG_PORT": "eighty"})


def test_bad_flags_are_refused_with_a_message() -> None:
    result = run_cli("serve", "--fallback-tps", "-3")
    assert result.returncode == 2
    assert "must be above 0" in result.stderr
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--port", "many"])


def test_vllm_priority_is_off_unless_asked_for_and_narrations_shorten_by_default() -> None:
    assert (Settings().llm_priority, Settings().llm_shorten) == (False, "4:0.75,8:0.5")
    env = from_environment({"MARATANG_LLM_PRIORITY": "true", "MARATANG_LLM_SHORTEN": "3:0.6"})
    assert (env.llm_priority, env.llm_shorten) == (True, "3:0.6")
    assert from_environment({"MARATANG_LLM_PRIORITY": "0"}).llm_priority is False
    with pytest.raises(ValueError, match="MARATANG_LLM_PRIORITY"):
        from_environment({"MARATANG_LLM_PRIORITY": "sometimes"})
    on = parser().parse_args(["serve", "--llm-priority", "--llm-shorten", ""])
    off = parser().parse_args(["serve", "--no-llm-priority"])
    given = parser().parse_args(["serve"])
    assert (on.llm_priority, on.llm_shorten) == (True, "")
    assert (off.llm_priority, given.llm_priority, given.llm_shorten) == (False, None, None)
    flagged = with_overrides(env, llm_priority=off.llm_priority, llm_shorten=on.llm_shorten)
    assert (flagged.llm_priority, flagged.llm_shorten) == (False, "")


def test_every_setting_is_documented_in_the_operations_runbook() -> None:
    runbook = (ROOT / "docs" / "operations.md").read_text()
    missing = [f.name for f in fields(Settings) if f"`MARATANG_{f.name.upper()}`" not in runbook]
    assert missing == []


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`maratang ARGS` run to its end, its `MARATANG_*` settings only those of `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MARATANG_")}
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environment, **env},
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("serve", "--llm-url", "vllm:8000"), "must start with http:// or https://"),
        (("llm-sim", "--tps", "0"), "tps must be above 0"),
        (("llm-sim", "--fault-rate", "2"), "fault_rate must be within 0..1"),
        (("serve", "--database-url", "mysql://x/y"), "must start with postgresql://"),
        (("serve", "--llm-shorten", "4:2"), "MARATANG_LLM_SHORTEN '4:2': '4:2': waiting must"),
        (("serve", "--llm-shorten", "8:0.5,4:0.75"), "each step needs more waiting"),
        (("llm-sim", "--scheduling-policy", "lottery"), "invalid choice: 'lottery'"),
    ],
)
def test_bad_model_settings_are_refused_with_a_message(args: tuple[str, ...], said: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert said in result.stderr


def test_serve_says_which_model_narrates() -> None:
    line = narrator_line(Settings(llm_url="http://a:8000/v1,http://b:8000", llm_slots=20))
    assert line.startswith("narrator: kakaocorp/kanana-1.5-8b-instruct-2505 at http://a:8000")
    assert "http://b:8000 (up to 20 narrations each), then fallback templates" in line
    ordered = narrator_line(Settings(llm_url="http://a:8000", llm_slots=20, llm_priority=True))
    assert "(up to 20 narrations each, vLLM priority on)" in ordered


def test_serve_says_it_runs_on_the_embedded_defaults(server: Server) -> None:
    said = "".join(server.output)
    assert "engine: memory" in said
    assert "narrator: fallback" in said
    assert "records: not persisted" in said
    assert "MARATANG_SECRET" in said


async def test_the_catalog_health_and_page_are_served(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        catalog = (await http.get("/api/catalog")).json()
        health = (await http.get("/healthz")).json()
        page = await http.get("/")
    assert len(catalog["ingredients"]) == 24
    assert {"id", "name", "name_en", "category", "tags", "price"} <= set(catalog["ingredients"][0])
    assert [s["level"] for s in catalog["spices"]] == [0, 1, 2, 3, 4]
    assert catalog["spices"][4]["name"] == "불지옥"
    assert catalog["limits"]["bowl"] == [3, 6]
    assert health == {"status": "ok", "engine": "memory", "engine_state": "up"}
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


async def test_permessage_deflate_is_not_negotiated(server: Server) -> None:
    async with connect(server.ws_url, compression="deflate") as socket:
        assert socket.response is not None
        assert "Sec-WebSocket-Extensions" not in socket.response.headers
        assert "Sec-WebSocket-Protocol" not in socket.response.headers  # no offer: JSON


@pytest.mark.parametrize(
    "secret",
    [
        None,
        "",
        "short",
        "maratang-dev-secret-change-me",  # the fixed development secret of earlier versions
        "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5",  # 31 characters
        " " * 40,
    ],
)
def test_production_refuses_a_missing_or_default_secret(secret: str | None) -> None:
    given = {} if secret is None else {"MARATANG_SECRET": secret}
    result = run_cli("serve", "--port", "0", MARATANG_ENV="production", **given)
    assert result.returncode == 2
    assert "MARATANG_SECRET is missing or too short" in result.stderr


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"MARATANG_PLAYER_SOCKETS": "0"}, "MARATANG_PLAYER_SOCKETS must be above 0"),
        ({"MARATANG_HEADER_TIMEOUT": "-1"}, "MARATANG_HEADER_TIMEOUT must be above 0"),
        ({"MARATANG_SEND_QUEUE_BYTES": "100"}, "MARATANG_SEND_QUEUE_BYTES must be at least"),
        ({"MARATANG_LIMIT_EXEMPT": "10.0.0.0/8, cafe"}, "'cafe' is no address or network"),
        ({"MARATANG_WORDS_FILES": "/no/such/words.txt"}, "MARATANG_WORDS_FILES: "),
        ({"MARATANG_GUARD_URL": "vllm-guard:8000"}, "MARATANG_GUARD_URL must start with http"),
        ({"MARATANG_GUARD_SECONDS": "0"}, "MARATANG_GUARD_SECONDS must be above 0"),
    ],
)
def test_limits_that_cannot_work_are_refused_with_a_message(env: dict[str, str], said: str) -> None:
    result = run_cli("serve", "--port", "0", **env)
    assert result.returncode == 2
    assert said in result.stderr


def test_serve_warns_of_a_retention_shorter_than_the_token_lifetime() -> None:
    url = "postgresql://maratang@db/maratang"
    short = describe(Settings(database_url=url, retention_hours=1, token_ttl=86_400))
    long = describe(Settings(database_url=url))
    assert any(line.startswith("retention: ") for line in short)
    assert not any(line.startswith("retention: ") for line in long)


async def test_the_guard_model_is_off_unless_a_url_is_given() -> None:
    client = HTTPClient()
    try:
        assert checks(from_environment({}), client).guard is None
        guarded = checks(from_environment({"MARATANG_GUARD_URL": "http://gpu:8001"}), client)
        assert guarded.guard is not None
    finally:
        await client.aclose()
