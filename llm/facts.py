"""The facts of one narration, taken from the table.

A narrator tells only these facts; scores come from the rules, never from the narrator.
Players are numbered (player n is `⟨Pn⟩` to the model, see `llm.placeholders`): the facts
carry their numbers, and `cast` what each placeholder stands for, the names included. Only the
hub reads the cast; a prompt never holds a name or a number the game decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from game.catalog import CUSTOMERS_BY_ID, INGREDIENTS_BY_ID, Customer, Ingredient, IngredientId
from game.state import NarrationState, Table
from llm.placeholders import Cast, placeholder
from protocol.types import Lang, NarrationId, NarrationKind, PlayerId, SessionId, clean_name


@dataclass(frozen=True, slots=True)
class Tasting:
    """One player's bowl as the customer tastes it."""

    who: int
    """The player's number: `⟨P{who}⟩` names them, `⟨S{who}⟩` is this score."""
    score: int
    place: int
    ingredients: tuple[Ingredient, ...]
    """Empty when the player served no bowl."""
    spice: int

    @property
    def name(self) -> str:
        return placeholder("P", self.who)


@dataclass(frozen=True, slots=True)
class Standing:
    who: int
    total: int
    place: int

    @property
    def name(self) -> str:
        return placeholder("P", self.who)


@dataclass(frozen=True, slots=True)
class NarrationFacts:
    session: SessionId
    nid: NarrationId
    kind: NarrationKind
    lang: Lang
    round: int
    rounds: int
    customer: Customer | None
    names: tuple[str, ...] = ()
    """Player n's name is `names[n - 1]`: only the hub's, never the model's."""
    tastings: tuple[Tasting, ...] = ()
    """Best first, as ranked by the rules."""
    standings: tuple[Standing, ...] = ()

    @property
    def cast(self) -> Cast:
        """What this narration's placeholders stand for: every player's name; a tasting's
        scores and places in the round; the finale's totals and places in the game."""
        values = {f"P{n}": name for n, name in enumerate(self.names, 1)}
        if self.kind == "tasting":
            for t in self.tastings:
                values |= {f"S{t.who}": str(t.score), f"R{t.who}": str(t.place)}
        if self.kind == "finale":
            for s in self.standings:
                values |= {f"T{s.who}": str(s.total), f"R{s.who}": str(s.place)}
        return Cast(values)

    @property
    def winners(self) -> tuple[int, ...]:
        """The numbers of the players the game put first in what this narration tells."""
        ranked = self.tastings if self.kind == "tasting" else self.standings
        return tuple(r.who for r in ranked if r.place == 1)


def facts_for(table: Table, narration: NarrationState) -> NarrationFacts:
    players: dict[PlayerId, str] = {}
    for seat in table.seats:
        players.setdefault(seat.player, clean_name(seat.name))
    for entry in table.ranking or ():
        players.setdefault(entry.player, clean_name(entry.name))
    for result in table.results or ():
        players.setdefault(result.player, "?")
    number = {player: n for n, player in enumerate(players, 1)}
    customer_id = table.customers[narration.round - 1] if narration.round else None
    tastings = tuple(
        Tasting(
            who=number[result.player],
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
        Standing(number[entry.player], entry.total, entry.place) for entry in table.ranking or ()
    )
    return NarrationFacts(
        session=table.session,
        nid=narration.nid,
        kind=narration.kind,
        lang=table.settings.lang,
        round=narration.round,
        rounds=table.settings.rounds,
        customer=CUSTOMERS_BY_ID[customer_id] if customer_id else None,
        names=tuple(players.values()),
        tastings=tastings if narration.kind == "tasting" else (),
        standings=standings,
    )
