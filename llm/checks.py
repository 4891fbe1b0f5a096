"""The check stage: what the model says is checked before any player sees it.

`CheckedNarrator` wraps the model narrator. The model's text is let through as soon as the
checks clear it, and held back only while they cannot yet: the word filter holds the last few
characters a listed word could still grow from; a guard model, when one is configured, holds
the sentence until it is complete and judged. So at most one sentence is held, and only while
it is incomplete and a check needs its end. The checks:

- `words`: no listed word (`llm.lexicon`, with its Korean normalisation);
- `guard`: the guard model (`llm.guard`) finds each sentence safe;
- length: past its budget (`length_budget`, a share of the tokens the model was asked for)
  the narration is cut at the next sentence end, and the model request closed;
- `tasting`: a tasting names every player's placeholder, and the last player it names is one
  the game put first (the winner is announced last).

A failed check replaces the rest of the narration with the fallback (reason `moderated`):
what the model said that failed is never shown, and what was shown before is never retracted,
so `narration.end.source` is `mixed` (or `fallback`, when nothing of the model's was shown).
Text the fallback tells is the server's own and passes unchecked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from llm.facts import NarrationFacts
from llm.guard import Guard, GuardError
from llm.lexicon import CONTEXT, Lexicon
from llm.narrator import Narrator, Piece
from llm.observe import NarrationObserver
from llm.prompts import max_tokens

SENTENCE_END = re.compile(r"[.!?…。~]+[\"'”’)\]]*(?=\s)|\n")
"""A sentence ends at its mark once the next character (a space, a line break) shows that the
mark is not inside it."""
_NAMED = re.compile(r"⟨P(\d{1,2})⟩")
CHARS_PER_TOKEN = {"ko": 1.5, "en": 4.0}
"""Characters of narration per token, about, to turn a token budget into a length."""
CUT_SHARE = 0.8
"""The cut looks for a sentence end from this share of the tokens the model was asked for:
the rest leaves the sentence under way room to end before `max_tokens` stops the model."""


def length_budget(tokens: int, lang: str) -> int:
    """How many characters of the model's text a narration asked for `tokens` may run to
    before it is cut at its next sentence end."""
    return int(tokens * CHARS_PER_TOKEN[lang] * CUT_SHARE)


@dataclass(frozen=True, slots=True)
class Checks:
    words: Lexicon
    guard: Guard | None = None
    guard_fails_closed: bool = False
    """Take a sentence the guard gave no verdict on as unsafe (the default lets it through:
    the word filter has still checked it)."""


class CheckedNarrator:
    """A narrator whose model text passes the checks before it is yielded."""

    def __init__(
        self, narrator: Narrator, fallback: Narrator, checks: Checks, observer: NarrationObserver
    ) -> None:
        self._narrator = narrator
        self._fallback = fallback
        self._checks = checks
        self._observer = observer

    async def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]:
        gate = _Gate(facts, self._checks, self._observer)
        async with contextlib.aclosing(self._narrator.stream(facts, hurry, already)) as pieces:
            async for piece in pieces:
                if piece.source != "llm":
                    # the narrator handed over by itself: the model's text is over
                    if gate.open and (text := await gate.end(whole=False)):
                        yield Piece(text, "llm")
                    yield piece
                    continue
                if piece.asked:
                    gate.budget = length_budget(piece.asked, facts.lang)
                text = await gate.feed(piece.text)
                if text:
                    yield Piece(text, "llm")
                if not gate.open:
                    break  # cut, or failed: the model request is closed on the way out
            else:
                if gate.open and (text := await gate.end(whole=True)):
                    yield Piece(text, "llm")
        if gate.failed is None:
            return
        self._observer.check_failed(gate.failed)
        self._observer.fallback("moderated")
        shown = already + facts.cast.fill(gate.released)
        async with contextlib.aclosing(self._fallback.stream(facts, hurry, shown)) as rest:
            async for piece in rest:
                yield piece


class _Gate:
    """The model's text of one narration, between the model and the players."""

    def __init__(self, facts: NarrationFacts, checks: Checks, observer: NarrationObserver) -> None:
        self._facts = facts
        self._checks = checks
        self._observer = observer
        self.budget = length_budget(max_tokens(facts, sys.maxsize), facts.lang)
        """The length to cut at: the model's first piece says what it was asked for."""
        self.released = ""
        """The model's text let through, with its placeholders."""
        self._held = ""
        self.open = True
        """The model's text goes on (False once it ended, was cut or failed)."""
        self.failed: str | None = None
        """The check it failed."""

    async def feed(self, text: str) -> str:
        """Take more of the model's text; what can be let through now."""
        self._held += text
        cut = self._cut()
        if cut is not None:
            self._held = self._held[:cut]
            return await self.end(whole=True)
        return await self._release(final=False)

    async def end(self, whole: bool) -> str:
        """The model's text is over (`whole`: the model finished it, or it was cut at its
        budget; not: the model stopped part-way and the fallback tells the rest)."""
        out = await self._release(final=True)
        if self.open and whole and self._facts.kind == "tasting" and not self._tasting_told():
            self._fail("tasting")
        self.open = False
        return out

    def _cut(self) -> int | None:
        """Where the held text ends, when the narration runs past its budget: at the first
        sentence end past it."""
        over = self.budget - len(self.released)
        if len(self._held) < over:
            return None
        for end in SENTENCE_END.finditer(self._held):
            if end.end() >= over:
                return end.end()
        return None

    async def _release(self, final: bool) -> str:
        scan = self._checks.words.scan(self._held, final, self.released[-CONTEXT:])
        if scan.found is not None:
            self._fail("words")
            return ""
        upto = len(self._held) if final else scan.safe
        if self._checks.guard is not None:
            if not final:  # whole sentences only, as far as the word filter cleared them
                upto = _last_sentence_end(self._held[:upto])
            if upto and not await self._guard_clears(self._held[:upto]):
                self._fail("guard")
                return ""
        out, self._held = self._held[:upto], self._held[upto:]
        self.released += out
        return out

    async def _guard_clears(self, text: str) -> bool:
        guard = self._checks.guard
        assert guard is not None
        try:
            return await guard.verdict(text, self._facts.lang) is None
        except GuardError:
            self._observer.guard_unanswered()
            return not self._checks.guard_fails_closed

    def _tasting_told(self) -> bool:
        named = [int(n) for n in _NAMED.findall(self.released)]
        everyone = {t.who for t in self._facts.tastings}
        return everyone <= set(named) and bool(named) and named[-1] in self._facts.winners

    def _fail(self, check: str) -> None:
        self.failed, self.open, self._held = check, False, ""


def _last_sentence_end(text: str) -> int:
    ends = [end.end() for end in SENTENCE_END.finditer(text)]
    return ends[-1] if ends else 0
