"""The check stage: what the model says is checked before players see it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

import pytest

from llm.checks import CHARS_PER_TOKEN, CheckedNarrator, Checks, length_budget
from llm.facts import NarrationFacts
from llm.fallback import FallbackNarrator
from llm.guard import GuardError
from llm.lexicon import Lexicon
from llm.narrator import Piece, overall_source
from llm.observe import Unobserved
from llm.prompts import max_tokens
from llm.templates import recap
from tests.llm.samples import facts

WORDS = Lexicon.load()
TASTED = "⟨P3⟩님은 빈 그릇. ⟨P2⟩님 ⟨S2⟩점! ⟨P1⟩님 ⟨S1⟩점! 승자는 ⟨P1⟩님입니다."


@dataclass
class Said:
    """A narrator that says the given pieces, as the model would (source `llm`), then
    `after` as the fallback would; it notes whether it was closed before its end."""

    pieces: Sequence[str]
    after: Sequence[str] = ()
    asked: int = 0
    """The tokens the model was asked for, told on its first piece (0: not told)."""
    closed_early: bool = False

    async def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]:
        done = False
        try:
            for n, text in enumerate(self.pieces):
                yield Piece(text, "llm", self.asked if n == 0 else 0)
            for text in self.after:
                yield Piece(text, "fallback")
            done = True
        finally:
            self.closed_early = not done


@dataclass
class Noted(Unobserved):
    failed: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    unanswered: int = 0

    def check_failed(self, check: str) -> None:
        self.failed.append(check)

    def fallback(self, reason: str) -> None:
        self.fallbacks.append(reason)

    def guard_unanswered(self) -> None:
        self.unanswered += 1


@dataclass
class Flags:
    """A guard that finds a sentence unsafe when it holds `word` (or cannot answer)."""

    word: str = "독약"
    broken: bool = False
    asked: list[str] = field(default_factory=list)

    async def verdict(self, text: str, lang: str) -> str | None:
        self.asked.append(text)
        if self.broken:
            raise GuardError("no answer")
        return "S4" if self.word in text else None


async def check(
    said: Said,
    kind: str = "entrance",
    guard: Flags | None = None,
    closed: bool = False,
) -> tuple[list[Piece], Noted]:
    noted = Noted()
    checks = Checks(WORDS, guard, guard_fails_closed=closed)
    narrator = CheckedNarrator(said, FallbackNarrator(10_000), checks, noted)
    told = facts(kind)  # type: ignore[arg-type]
    return [p async for p in narrator.stream(told, asyncio.Event())], noted


def text(pieces: list[Piece]) -> str:
    return "".join(p.text for p in pieces)


async def test_clean_text_goes_through_unchanged_and_without_waiting_for_sentences() -> None:
    said = Said(["딸랑, 문이 열리고 ", "손님이 들어옵니다. ", "오늘은 ", "매운 게 ", "당기네요."])
    pieces, noted = await check(said)
    assert text(pieces) == "".join(said.pieces)
    assert {p.source for p in pieces} == {"llm"}
    # the word filter holds back only a few characters, not the sentence
    assert pieces[0].text.startswith("딸랑, ")
    assert noted.failed == []
    assert noted.fallbacks == []


@pytest.mark.parametrize(
    "word", ["씨발", "ㅅㅂ", "씨 발", "시.발", "씨빨", "씨\u200b발", "ｆｕｃｋ", "f u c k"]
)
async def test_a_listed_word_however_spelt_is_never_shown_and_the_rest_is_the_fallbacks(
    word: str,
) -> None:
    said = Said(["손님이 들어옵니다. ", "정말 ", *word, " 맛있네요. ", "끝."])
    pieces, noted = await check(said)
    shown = text(pieces)
    assert shown.startswith("손님이 들어옵니다.")
    assert word not in shown
    assert "맛있네요" not in shown
    assert shown.endswith("\n" + recap(facts("entrance")))
    assert overall_source(p.source for p in pieces) == "mixed"
    assert noted.failed == ["words"]
    assert noted.fallbacks == ["moderated"]
    assert said.closed_early  # the model request is closed at once


async def test_a_tasting_that_skips_a_player_is_finished_by_the_fallback() -> None:
    skipped = TASTED.replace("⟨P2⟩님 ⟨S2⟩점! ", "")
    pieces, noted = await check(Said([skipped]), "tasting")
    assert text(pieces) == skipped + "\n" + recap(facts("tasting"))
    assert noted.failed == ["tasting"]
    assert noted.fallbacks == ["moderated"]


async def test_a_tasting_that_crowns_the_wrong_player_is_finished_by_the_fallback() -> None:
    wrong = TASTED.replace("승자는 ⟨P1⟩님", "승자는 ⟨P2⟩님")
    _, noted = await check(Said([wrong]), "tasting")
    assert noted.failed == ["tasting"]


async def test_a_tasting_that_names_everyone_and_crowns_the_winner_passes() -> None:
    pieces, noted = await check(Said(list(TASTED)), "tasting")  # a character a chunk
    assert text(pieces) == TASTED
    assert noted.failed == []


async def test_a_model_that_stopped_by_itself_is_not_held_to_the_tasting() -> None:
    """The narrator handed the rest to the fallback itself: its recap names everyone."""
    said = Said(["⟨P3⟩님은 빈 그릇. "], after=["\n", "recap"])
    pieces, noted = await check(said, "tasting")
    assert text(pieces) == "⟨P3⟩님은 빈 그릇. \nrecap"
    assert noted.failed == []


@pytest.mark.parametrize("asked", [0, 40, 120])
async def test_a_narration_past_its_budget_is_cut_at_a_sentence_end(asked: int) -> None:
    """Cut at the first sentence end past a share of the tokens the model was asked for
    (shortened, or under the operator's ceiling), else of what the facts would want."""
    wanted = max_tokens(facts("entrance"), sys.maxsize)
    budget = length_budget(asked or wanted, "ko")
    assert budget < (asked or wanted) * CHARS_PER_TOKEN["ko"]  # room to end the sentence
    sentence = "국물이 아주 맛있어 보이네요. "
    said = Said([sentence] * (budget // len(sentence) + 10), asked=asked)
    pieces, noted = await check(said)
    shown = text(pieces)
    assert budget <= len(shown) < budget + len(sentence)
    assert shown.endswith("보이네요.")
    assert said.closed_early
    assert noted.failed == []
    assert {p.source for p in pieces} == {"llm"}


async def test_a_guard_holds_each_sentence_until_it_is_judged() -> None:
    guard = Flags()
    said = Said(["손님이 ", "들어옵니다. ", "오늘은 ", "추워요. ", "정말", "로."])
    pieces, _noted = await check(said, guard=guard)
    assert text(pieces) == "".join(said.pieces).rstrip()
    assert pieces[0].text == "손님이 들어옵니다."  # held until the sentence was complete
    assert all(p.text.endswith(".") for p in pieces)  # never part of a sentence
    assert guard.asked == [p.text for p in pieces]  # and nothing shown the guard did not clear


async def test_a_sentence_the_guard_finds_unsafe_is_never_shown() -> None:
    said = Said(["손님이 들어옵니다. ", "독약을 ", "넣었어요. ", "끝."])
    pieces, noted = await check(said, guard=Flags())
    shown = text(pieces)
    assert shown.startswith("손님이 들어옵니다.\n")
    assert "독약" not in shown
    assert noted.failed == ["guard"]
    assert noted.fallbacks == ["moderated"]


async def test_a_guard_that_cannot_answer_lets_text_through_unless_it_fails_closed() -> None:
    said = ["손님이 들어옵니다. ", "끝."]
    pieces, noted = await check(Said(said), guard=Flags(broken=True))
    assert text(pieces) == "".join(said)
    assert noted.unanswered == len(pieces)
    pieces, noted = await check(Said(said), guard=Flags(broken=True), closed=True)
    assert overall_source(p.source for p in pieces) == "fallback"
    assert noted.failed == ["guard"]
