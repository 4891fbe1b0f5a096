"""`ModelGuard` against the vLLM simulator's guard model over real HTTP: verdicts read from
Kanana Safeguard's answer tokens, and every way of not getting one is a `GuardError`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest

from llm.guard import GuardError, ModelGuard
from llm.http_client import HTTPClient
from llm.sim_config import DEFAULT_MODEL
from tests.support.server import Server, running_sim
from tests.support.sim import configure

GUARD = "kakaocorp/kanana-safeguard-8b"
QUIET = "김이 모락모락 나는 국물에 손님이 미소를 짓습니다."
FLAGGED = "손님이 칼부림을 예고합니다."


@pytest.fixture(scope="module")
def sim_process() -> Iterator[Server]:
    with running_sim("--guard-flags", "칼부림,stab") as sim:
        yield sim


@pytest.fixture
async def sim(sim_process: Server) -> Server:
    await configure(sim_process, ttft=0.01, fault="none", api_key="", guard_flags="칼부림,stab")
    return sim_process


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    own = HTTPClient()
    try:
        yield own
    finally:
        await own.aclose()


def guard(sim: Server, client: HTTPClient, model: str = GUARD, timeout: float = 2.0) -> ModelGuard:
    return ModelGuard(client, f"{sim.base_url}/v1", model, timeout)


async def test_safe_narration_has_no_category(sim: Server, client: HTTPClient) -> None:
    assert await guard(sim, client).verdict(QUIET, "ko") is None
    assert await guard(sim, client).verdict("The broth steams.", "en") is None


async def test_unsafe_narration_has_its_category(sim: Server, client: HTTPClient) -> None:
    assert await guard(sim, client).verdict(FLAGGED, "ko") == "S2"
    assert await guard(sim, client).verdict("He will STAB the chef.", "en") == "S2"


async def test_the_request_is_the_model_cards_conversation(sim: Server, client: HTTPClient) -> None:
    asked = guard(sim, client).request(FLAGGED, "ko")
    assert [m["role"] for m in asked["messages"]] == ["user", "assistant"]
    assert asked["messages"][1]["content"] == FLAGGED
    assert (asked["temperature"], asked["stream"], asked["add_generation_prompt"]) == (
        0,
        False,
        False,
    )
    assert asked["skip_special_tokens"] is False
    assert 1 <= asked["max_tokens"] <= 8


async def test_the_verdict_comes_in_vllms_shapes(sim: Server, client: HTTPClient) -> None:
    asked = guard(sim, client).request(FLAGGED, "ko")
    narrating = {**asked, "model": DEFAULT_MODEL}
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        whole = (await http.post("/v1/chat/completions", json=asked)).json()
        narration = (await http.post("/v1/chat/completions", json=narrating)).json()
        streamed = await http.post("/v1/chat/completions", json={**asked, "stream": True})
    assert list(whole) == list(narration)
    assert list(whole["choices"][0]) == list(narration["choices"][0])
    assert whole["choices"][0]["message"]["content"] == "<UNSAFE-S2>"
    assert whole["model"] == GUARD
    events = streamed.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    deltas = [orjson.loads(e.removeprefix("data: "))["choices"][0]["delta"] for e in events[:-2]]
    assert "".join(d.get("content", "") for d in deltas) == "<UNSAFE-S2>"


async def test_a_wrong_model_name_is_an_error(sim: Server, client: HTTPClient) -> None:
    with pytest.raises(GuardError, match=r"HTTP 404: The model `kakaocorp/nope` does not exist"):
        await guard(sim, client, model="kakaocorp/nope").verdict(QUIET, "ko")


async def test_an_answer_that_is_no_verdict_is_an_error(sim: Server, client: HTTPClient) -> None:
    with pytest.raises(GuardError, match="no verdict"):
        await guard(sim, client, model=DEFAULT_MODEL).verdict(QUIET, "ko")


async def test_a_slow_guard_is_an_error_within_its_timeout(sim: Server, client: HTTPClient) -> None:
    await configure(sim, ttft=30.0)
    began = time.monotonic()
    with pytest.raises(GuardError, match=r"no answer within 0\.3 s"):
        await guard(sim, client, timeout=0.3).verdict(QUIET, "ko")
    assert time.monotonic() - began < 2.0


@pytest.mark.parametrize(
    ("settings", "status"), [({"fault": "503"}, 503), ({"api_key": "secret"}, 401)]
)
async def test_a_refusal_is_an_error_naming_the_status(
    sim: Server, client: HTTPClient, settings: dict[str, str], status: int
) -> None:
    await configure(sim, **settings)
    with pytest.raises(GuardError, match=f"HTTP {status}"):
        await guard(sim, client).verdict(QUIET, "ko")


async def test_the_api_key_is_sent(sim: Server, client: HTTPClient) -> None:
    await configure(sim, api_key="secret")
    keyed = ModelGuard(client, sim.base_url, GUARD, 2.0, api_key="secret")
    assert await keyed.verdict(FLAGGED, "ko") == "S2"


async def test_an_unreachable_guard_is_an_error(client: HTTPClient) -> None:
    with pytest.raises(GuardError, match=GUARD):
        await ModelGuard(client, "http://127.0.0.1:9", GUARD, 1.0).verdict(QUIET, "ko")
