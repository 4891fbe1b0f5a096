"""What the hub asks of a narrator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import Protocol

from llm.facts import NarrationFacts
from protocol.types import NarrationSource


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of narration text and who wrote it (the model or the fallback)."""

    text: str
    source: NarrationSource
    asked: int = 0
    """On the model's first piece: the most tokens the model was asked for (its request's
    `max_tokens`), so the checks cut the narration at a sentence end before the model
    would stop mid-word; 0 on every other piece."""


class Narrator(Protocol):
    """Tells the story of a narration's facts as a stream of text pieces.

    `stream` paces itself (a model at its decode speed, the fallback at its configured rate)
    and yields each piece as it is ready; joined, the pieces are the whole narration, or its
    rest when `already` holds the beginning someone else told (a narration taken over from a
    process that died). When `hurry` is set, the narrator brings the story to its end as soon
    as it can: another narration is waiting behind this one.
    """

    def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]: ...


def overall_source(sources: Iterable[NarrationSource]) -> NarrationSource:
    """`llm` or `fallback` when one wrote every piece, `mixed` when both did."""
    seen = set(sources)
    if len(seen) == 1:
        return seen.pop()
    return "mixed" if seen else "fallback"
