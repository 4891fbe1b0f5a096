"""The fallback narrator: what it says, in both languages, and how it streams."""

from __future__ import annotations

import asyncio
import re

import pytest

from game.catalog import (
    CUSTOMERS,
    CUSTOMERS_BY_ID,
    INGREDIENTS_BY_ID,
    Customer,
    CustomerId,
    Ingredient,
    IngredientId,
)
from llm.facts import NarrationFacts, Standing, Tasting
from llm.fallback import FallbackNarrator, rest_of, tokens
from llm.narrator import overall_source
from llm.templates import josa, tell
from protocol.types import Lang, NarrationId, NarrationKind, SessionId

NURSE = CUSTOMERS_BY_ID[CustomerId("night_shift_nurse")]


def ingredients(*ids: str) -> tuple[Ingredient, ...]:
    return tuple(INGREDIENTS_BY_ID[IngredientId(i)] for i in ids)


TASTINGS = (
    Tasting("민지", 88, 1, ingredients("quail_eggs", "potato", "beef"), 2),
    Tasting("Alex", 41, 2, ingredients("lotus_root", "bean_sprouts", "squid"), 4),
    Tasting("서준", 0, 3, (), 0),
)


def facts(kind: NarrationKind, lang: Lang = "ko", customer: Customer = NURSE) -> NarrationFacts:
    return NarrationFacts(
        session=SessionId("s"),
        nid=NarrationId(f"r1.{kind}"),
        kind=kind,
        lang=lang,
        round=1,
        rounds=3,
        customer=customer,
        tastings=TASTINGS if kind == "tasting" else (),
        standings=(Standing("민지", 200, 1), Standing("Alex", 150, 2), Standing("서준", 150, 2)),
    )


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


def test_the_tasting_goes_from_worst_to_best_and_crowns_the_winner() -> None:
    text = tell(facts("tasting"))
    assert text.index("서준") < text.index("Alex") < text.index("민지")
    assert "승자는 민지님" in text
    assert "메추리알" in text
    english = tell(facts("tasting", "en"))
    assert english.index("서준") < english.index("Alex") < english.index("goes to 민지")
    assert "quail eggs" in english.lower()


def test_the_finale_names_the_winner_and_the_standings() -> None:
    text = tell(facts("finale"))
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
        standings=(Standing("A", 90, 1), Standing("B", 90, 1)),
    )
    assert "tied, are A, B" in tell(tied)


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
    text = tell(facts("tasting"))
    assert rest_of(text, text[:40]) == text[40:]
    assert rest_of(text, "") == text
    assert rest_of(text, "a model's own opening") == "\n" + text  # another narrator began it


async def test_the_stream_continues_a_narration_already_begun() -> None:
    narrator = FallbackNarrator(tokens_per_second=5000, step=0.01)
    text = tell(facts("entrance"))
    rest = [p.text async for p in narrator.stream(facts("entrance"), asyncio.Event(), text[:25])]
    assert text[:25] + "".join(rest) == text
