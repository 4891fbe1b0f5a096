"""Shorter narrations as this process's queue for the model grows (`MARATANG_LLM_SHORTEN`).

A narration admitted while many others wait asks for a share of its tokens (and of its
sentences): it holds its slot for less time, so the ones behind it start sooner and fewer of
them end in the templates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    waiting: int
    """From this many narrations of this process waiting for a slot..."""
    scale: float
    """... a narration admitted asks for this share of its tokens."""

    @property
    def label(self) -> str:
        """The step as a metric label: its share (`0.75`)."""
        return f"{self.scale:g}"


def parse_steps(text: str) -> tuple[Step, ...]:
    """Steps from `4:0.75,8:0.5` (empty: never shorter). Raises `ValueError` saying what is
    wrong: each step is `waiting:share`, waiting a whole number from 1, share above 0 and
    below 1, the waiting counts rising and the shares falling from step to step."""
    steps = tuple(_step(item.strip()) for item in text.split(",") if item.strip())
    for before, after in itertools.pairwise(steps):
        if after.waiting <= before.waiting or after.scale >= before.scale:
            raise ValueError(
                f"{before.waiting}:{before.scale:g} then {after.waiting}:{after.scale:g}: "
                "each step needs more waiting narrations and a smaller share than the one before"
            )
    return steps


def step_for(steps: tuple[Step, ...], waiting: int) -> Step | None:
    """The step `waiting` narrations reach (the last one it is at least), None below all."""
    reached = [step for step in steps if waiting >= step.waiting]
    return reached[-1] if reached else None


def _step(item: str) -> Step:
    waiting, colon, scale = item.partition(":")
    try:
        step = Step(int(waiting), float(scale))
    except ValueError:
        step = None
    if not colon or step is None:
        raise ValueError(f"{item!r}: write each step as waiting:share, such as 4:0.75")
    if step.waiting < 1 or not 0 < step.scale < 1:
        raise ValueError(f"{item!r}: waiting must be 1 or more, the share above 0 and below 1")
    return step
