"""The table as one player may see it (`sync.state`).

Other players' bowls stay hidden until the round resolves: a player sees only *that*
someone submitted, and their own bowl.
"""

from __future__ import annotations

from game.catalog import CUSTOMERS_BY_ID, Customer
from game.state import Table, Told
from protocol.types import (
    CustomerView,
    NarrationView,
    PlayerId,
    SeatView,
    Settings,
    TableView,
)


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView(
        id=customer.id,
        name=customer.name,
        story=customer.story,
        name_en=customer.name_en,
        story_en=customer.story_en,
    )


def table_view(
    table: Table, viewer: PlayerId, restored: bool = False, told: Told | None = None
) -> TableView:
    """`told`: what the narration lane holds of the streaming narration (its text so far)."""
    settings = table.settings
    own = table.bowls.get(viewer)
    customer = table.customer
    narration = table.narration
    return TableView(
        code=table.code,
        phase=table.phase,
        settings=Settings(rounds=settings.rounds, seconds=settings.seconds, lang=settings.lang),
        players=tuple(
            SeatView(
                id=s.player,
                name=s.name,
                total=s.total,
                away=s.away,
                submitted=s.player in table.bowls,
            )
            for s in table.seats
        ),
        round=table.round,
        host=table.host,
        customer=customer_view(CUSTOMERS_BY_ID[customer]) if customer else None,
        deadline=table.deadline,
        bowl=own.bowl if own else None,
        results=table.results,
        narration=NarrationView(narration.nid, narration.kind, _text(table, told), narration.source)
        if narration
        else None,
        ranking=table.ranking,
        restored=True if restored else None,
    )


def _text(table: Table, told: Told | None) -> str:
    """A narration's text: the table has it once ended, the lane while it streams."""
    if table.narration is None:
        return ""
    if told is not None and told.nid == table.streaming:
        return told.text
    return table.narration.text
