"""The fallback narrator: what it says, in both languages, and how it streams."""

from __future__ import annotations

import asyncio
import re

import pytest

from game.catalog import (
    CUSTOMERS,
    Customer,
)
from llm.facts import NarrationFacts, Standing
from llm.fallback import FallbackNarrator, rest_of, tokens
from llm.narrator import overall_source
from llm.templates import josa, recap, tell
from protocol.types import Lang, NarrationId, NarrationKind, SessionId
from tests.llm.samples import facts


@pytest.mark.parametrize("customer", CUSTOMERS, ids=lambda c: str(c.id))
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_an_entrance_hints_at_the_customer_without_raw_numbers(
    customer: Customer, lang: Lang
) -> None:
    text = tell(facts("entrance", lang, customer))
    name = customer.name if lang == "ko" else customer.name_en
    assert name in text
    story = customer.story if lang == "ko" else customer.story_en
    digits = set(re.findall(r"\d+", text.replace(story, "")))
    assert digits <= {"1"}  # only the round number; no budget, price or spice level


def said(told: NarrationFacts) -> str:
    """The fallback's text as players read it: its placeholders filled in."""
    return told.cast.fill(tell(told))


def test_the_tasting_goes_from_worst_to_best_and_crowns_the_winner() -> None:
    text = said(facts("tasting"))
    assert text.index("서준") < text.index("Alex") < text.index("민지")
    assert "승자는 민지님" in text
    assert "메추리알" in text
    english = said(facts("tasting", "en"))
    assert english.index("서준") < english.index("Alex") < english.index("goes to 민지")
    assert "quail eggs" in english.lower()


def test_the_finale_names_the_winner_and_the_standings() -> None:
    text = said(facts("finale"))
    assert "최고 셰프는 민지님, 총 200점" in text
    assert "2위 Alex님, 150점" in text
    tied = NarrationFacts(
        SessionId("s"),
        NarrationId("finale"),
        "finale",
        "en",
        3,
        3,
        None,
        names=("A", "B"),
        standings=(Standing(1, 90, 1), Standing(2, 90, 1)),
    )
    assert "tied, are A, B" in said(tied)


@pytest.mark.parametrize(
    ("word", "particles", "expected"),
    [
        ("민지", ("이", "가"), "가"),
        ("지은", ("이", "가"), "이"),
        ("맛", ("을", "를"), "을"),
        ("소리", ("은", "는"), "는"),
        ("Alex", ("이", "가"), "(이)가"),
    ],
)
def test_korean_particles_follow_the_last_syllable(
    word: str, particles: tuple[str, str], expected: str
) -> None:
    assert josa(word, *particles) == expected


def test_tokens_are_model_sized_and_lose_nothing() -> None:
    text = tell(facts("entrance"))
    pieces = tokens(text)
    assert "".join(pieces) == text
    assert all(len(piece.strip()) <= 2 for piece in pieces)
    assert len(pieces) > 40


async def test_the_stream_tells_the_whole_text_at_its_pace() -> None:
    narrator = FallbackNarrator(tokens_per_second=2000)
    pieces = [p async for p in narrator.stream(facts("entrance"), asyncio.Event())]
    assert "".join(p.text for p in pieces) == tell(facts("entrance"))
    assert overall_source(p.source for p in pieces) == "fallback"


async def test_late_wakes_do_not_add_up_pieces_leave_on_their_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every wake comes 1 ms late here (the event loop's timers wake to the millisecond):
    piece i still leaves within that 1 ms of (i + 1) / rate, never a whole piece late."""
    loop = asyncio.get_running_loop()
    clock = [loop.time()]
    yield_now = asyncio.sleep

    async def late_sleep(delay: float) -> None:
        clock[0] += delay + 0.001
        await yield_now(0)

    monkeypatch.setattr(loop, "time", lambda: clock[0])
    monkeypatch.setattr(asyncio, "sleep", late_sleep)
    began = clock[0]
    lateness: list[float] = []
    async for piece in FallbackNarrator(tokens_per_second=30).stream(
        facts("entrance"), asyncio.Event()
    ):
        lateness.append(clock[0] - began - (len(lateness) + 1) / 30)
        assert piece.source == "fallback"
    assert len(lateness) > 40
    assert 0 <= min(lateness) <= max(lateness) <= 0.0011


async def test_a_hurried_narration_finishes_at_once() -> None:
    narrator = FallbackNarrator(tokens_per_second=1)  # would take minutes unhurried
    hurry = asyncio.Event()
    hurry.set()
    async with asyncio.timeout(2):
        told = "".join([p.text async for p in narrator.stream(facts("tasting"), hurry)])
    assert told == tell(facts("tasting"))


def test_sources_combine_into_llm_fallback_or_mixed() -> None:
    assert overall_source(["llm", "llm"]) == "llm"
    assert overall_source(["fallback"]) == "fallback"
    assert overall_source(["llm", "fallback"]) == "mixed"


def test_a_narrator_pace_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FallbackNarrator(tokens_per_second=0)


def test_a_taken_over_narration_goes_on_from_where_it_stopped() -> None:
    told = facts("tasting")
    text = tell(told)
    shown = said(told)
    assert told.cast.fill(rest_of(told, shown[:40])) == shown[40:]
    assert rest_of(told, "") == text


@pytest.mark.parametrize("kind", ["entrance", "tasting", "finale"])
def test_after_a_model_stopped_the_fallback_recaps_the_facts_not_the_scene(
    kind: NarrationKind,
) -> None:
    told = facts(kind)
    rest = rest_of(told, "딸랑, 모델이 이야기를 시작했는데")
    assert rest.startswith("\n")
    assert rest.strip() == recap(told)
    assert tell(told).endswith(recap(told))
    assert len(recap(told)) < len(tell(told))
    heard = told.cast.fill(rest)
    if kind == "tasting":  # every score is still heard
        assert all(f"{t.score}점" in heard for t in told.tastings)
    if kind == "finale":
        assert all(f"{s.total}점" in heard for s in told.standings)


async def test_the_stream_continues_a_narration_already_begun() -> None:
    narrator = FallbackNarrator(tokens_per_second=5000, step=0.01)
    text = tell(facts("entrance"))
    rest = [p.text async for p in narrator.stream(facts("entrance"), asyncio.Event(), text[:25])]
    assert text[:25] + "".join(rest) == text
