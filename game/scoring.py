"""How a customer scores a bowl: pure, deterministic, one small function per rule.

A score starts at BASE, each rule adds or takes points, and the sum is clamped to 0–100.
The breakdown lists every rule that moved the score (and the clamp, if it did), so the
breakdown always adds up to the score a player sees.

| rule       | points                                                  |
|------------|---------------------------------------------------------|
| `likes`    | +8 for each liked tag the bowl covers                   |
| `dislikes` | −10 for each disliked tag the bowl touches              |
| `craving`  | +15 if the craving (a tag or an ingredient) is in it    |
| `spice`    | +10 inside the customer's range, else −12 a level out   |
| `budget`   | −2 for each 100 won over the customer's budget          |
| `variety`  | +5 for three or more categories                         |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from game.catalog import Customer, Ingredient, Tag
from protocol.types import Points

BASE = 50
LIKED_TAG = 8
DISLIKED_TAG = -10
CRAVING = 15
SPICE_IN_RANGE = 10
SPICE_PER_LEVEL_OUT = -12
BUDGET_PER_100_OVER = -2
VARIETY = 5
VARIETY_CATEGORIES = 3


@dataclass(frozen=True, slots=True)
class Plate:
    """A bowl with its ingredients looked up: what the rules read."""

    ingredients: tuple[Ingredient, ...]
    spice: int

    @property
    def tags(self) -> frozenset[Tag]:
        return frozenset(tag for item in self.ingredients for tag in item.tags)

    @property
    def price(self) -> int:
        return sum(item.price for item in self.ingredients)


def likes(plate: Plate, customer: Customer) -> int:
    return LIKED_TAG * len(customer.likes & plate.tags)


def dislikes(plate: Plate, customer: Customer) -> int:
    return DISLIKED_TAG * len(customer.dislikes & plate.tags)


def craving(plate: Plate, customer: Customer) -> int:
    wanted = customer.craving
    hit = wanted in plate.tags or any(item.id == wanted for item in plate.ingredients)
    return CRAVING if hit else 0


def spice(plate: Plate, customer: Customer) -> int:
    if customer.spice_min <= plate.spice <= customer.spice_max:
        return SPICE_IN_RANGE
    distance = max(customer.spice_min - plate.spice, plate.spice - customer.spice_max)
    return SPICE_PER_LEVEL_OUT * distance


def budget(plate: Plate, customer: Customer) -> int:
    over = max(0, plate.price - customer.budget)
    return BUDGET_PER_100_OVER * (over // 100)


def variety(plate: Plate, customer: Customer) -> int:
    categories = {item.category for item in plate.ingredients}
    return VARIETY if len(categories) >= VARIETY_CATEGORIES else 0


Rule = Callable[[Plate, Customer], int]
RULES: tuple[tuple[str, Rule], ...] = (
    ("likes", likes),
    ("dislikes", dislikes),
    ("craving", craving),
    ("spice", spice),
    ("budget", budget),
    ("variety", variety),
)


def score(plate: Plate, customer: Customer) -> tuple[int, tuple[Points, ...]]:
    """The bowl's score 0–100 and the breakdown that adds up to it."""
    breakdown = [Points("base", BASE)]
    for name, rule in RULES:
        points = rule(plate, customer)
        if points:
            breakdown.append(Points(name, points))
    raw = sum(p.points for p in breakdown)
    clamped = min(100, max(0, raw))
    if clamped != raw:
        breakdown.append(Points("clamp", clamped - raw))
    return clamped, tuple(breakdown)


def plate_of(ingredients: Sequence[Ingredient], spice_level: int) -> Plate:
    return Plate(tuple(ingredients), spice_level)
