"""The facts of one narration, taken from the table.

A narrator tells only these facts; scores come from the rules, never from the narrator.
Player names arrive here sanitised and length-limited, the only player text a narrator sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from game.catalog import CUSTOMERS_BY_ID, INGREDIENTS_BY_ID, Customer, Ingredient, IngredientId
from game.state import NarrationState, Table
from protocol.types import Lang, NarrationId, NarrationKind, SessionId, clean_name


@dataclass(frozen=True, slots=True)
class Tasting:
    """One player's bowl as the customer tastes it."""

    name: str
    score: int
    place: int
    ingredients: tuple[Ingredient, ...]
    """Empty when the player served no bowl."""
    spice: int


@dataclass(frozen=True, slots=True)
class Standing:
    name: str
    total: int
    place: int


@dataclass(frozen=True, slots=True)
class NarrationFacts:
    session: SessionId
    nid: NarrationId
    kind: NarrationKind
    lang: Lang
    round: int
    rounds: int
    customer: Customer | None
    tastings: tuple[Tasting, ...] = ()
    """Best first, as ranked by the rules."""
    standings: tuple[Standing, ...] = ()


def facts_for(table: Table, narration: NarrationState) -> NarrationFacts:
    names = {seat.player: clean_name(seat.name) for seat in table.seats}
    customer_id = table.customers[narration.round - 1] if narration.round else None
    tastings = tuple(
        Tasting(
            name=names.get(result.player, "?"),
            score=result.score,
            place=result.place,
            ingredients=tuple(
                INGREDIENTS_BY_ID[IngredientId(i)]
                for i in (result.bowl.ingredients if result.bowl else ())
            ),
            spice=result.bowl.spice if result.bowl else 0,
        )
        for result in table.results or ()
    )
    standings = tuple(
        Standing(names.get(entry.player, clean_name(entry.name)), entry.total, entry.place)
        for entry in table.ranking or ()
    )
    return NarrationFacts(
        session=table.session,
        nid=narration.nid,
        kind=narration.kind,
        lang=table.settings.lang,
        round=narration.round,
        rounds=table.settings.rounds,
        customer=CUSTOMERS_BY_ID[customer_id] if customer_id else None,
        tastings=tastings if narration.kind == "tasting" else (),
        standings=standings,
    )
