"""`FallbackNarrator`: tells the round from templates, paced like a model would stream it.

It needs nothing but the facts, so it always finishes: it is the narrator when no model is
configured, and the one that takes over when the model is down, slow or over budget.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncGenerator

from llm.facts import NarrationFacts
from llm.narrator import Piece
from llm.templates import recap, tell

DEFAULT_TOKENS_PER_SECOND = 30.0
_WORD = re.compile(r"\S+\s*|\s+")
_PIECE_CHARS = 2
_SLACK = 1e-6
"""Rounding room (a millionth of a piece, or of a wake) when a wake falls exactly on a
piece's due time."""


def tokens(text: str) -> list[str]:
    """Model-sized pieces of `text`: words, long words cut into pieces of two characters."""
    out: list[str] = []
    for word in _WORD.findall(text):
        core = word.rstrip()
        if len(core) <= _PIECE_CHARS:
            out.append(word)
            continue
        cuts = [core[i : i + _PIECE_CHARS] for i in range(0, len(core), _PIECE_CHARS)]
        cuts[-1] += word[len(core) :]
        out.extend(cuts)
    return out


def rest_of(facts: NarrationFacts, already: str) -> str:
    """What is left to tell when players were shown `already`: the remainder of the
    fallback's own text when `already` is its beginning; otherwise (the model began it) a
    recap of the facts that carry the game, hints, scores and places, after a line break.
    Both with placeholders, as a narrator says them."""
    text = tell(facts)
    rest = facts.cast.rest(text, already)
    if rest is not None:
        return rest
    summary = recap(facts)
    return "\n" + summary if summary else ""


class FallbackNarrator:
    """Streams `tokens_per_second`: piece i is due `(i + 1) / tokens_per_second` after the
    start. It wakes at most once per `step` seconds (the hub coalesces what arrives within
    its window anyway, so finer pacing would only cost), on a grid counted from the start,
    and tells at each wake every piece then due: a late wake delays only the pieces due
    before it, and the pace never drifts behind its schedule."""

    def __init__(
        self, tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND, step: float = 0.0
    ) -> None:
        if tokens_per_second <= 0:
            raise ValueError("tokens_per_second must be positive")
        self._rate = tokens_per_second
        self._step = max(step, 1.0 / tokens_per_second)

    def next_wake(self, told: int) -> float:
        """Seconds from the start to the first wake at which piece `told` is due."""
        due = (told + 1) / self._rate
        return math.ceil(due / self._step - _SLACK) * self._step

    async def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]:
        pieces = tokens(rest_of(facts, already))
        loop = asyncio.get_running_loop()
        began = loop.time()
        told = 0
        while told < len(pieces):
            if not hurry.is_set():
                await asyncio.sleep(max(0.0, began + self.next_wake(told) - loop.time()))
            due = int((loop.time() - began) * self._rate + _SLACK)
            upto = len(pieces) if hurry.is_set() else min(len(pieces), max(told + 1, due))
            for piece in pieces[told:upto]:
                yield Piece(piece, "fallback")
            told = upto
