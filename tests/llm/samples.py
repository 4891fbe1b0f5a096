"""Narration facts for the narrator tests."""

from __future__ import annotations

from game.catalog import (
    CUSTOMERS_BY_ID,
    INGREDIENTS_BY_ID,
    Customer,
    CustomerId,
    Ingredient,
    IngredientId,
)
from llm.facts import NarrationFacts, Standing, Tasting
from protocol.types import Lang, NarrationId, NarrationKind, SessionId

NURSE = CUSTOMERS_BY_ID[CustomerId("night_shift_nurse")]


def ingredients(*ids: str) -> tuple[Ingredient, ...]:
    return tuple(INGREDIENTS_BY_ID[IngredientId(i)] for i in ids)


NAMES = ("민지", "Alex", "서준")
TASTINGS = (
    Tasting(1, 88, 1, ingredients("quail_eggs", "potato", "beef"), 2),
    Tasting(2, 41, 2, ingredients("lotus_root", "bean_sprouts", "squid"), 4),
    Tasting(3, 0, 3, (), 0),
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
        names=NAMES,
        tastings=TASTINGS if kind == "tasting" else (),
        standings=(Standing(1, 200, 1), Standing(2, 150, 2), Standing(3, 150, 2)),
    )
