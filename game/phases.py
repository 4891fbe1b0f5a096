"""The table's phases and their legal transitions, as one table.

lobby ──start──▶ picking ──close──▶ tasting ──next round──▶ picking
                                       └────last round────▶ over
any phase ──everyone left──▶ closed
"""

from __future__ import annotations

from protocol.types import Phase

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    "lobby": frozenset({"picking", "closed"}),
    "picking": frozenset({"tasting", "closed"}),
    "tasting": frozenset({"picking", "over", "closed"}),
    "over": frozenset({"closed"}),
    "closed": frozenset(),
}


class IllegalTransition(Exception):
    """A bug in the rules: they asked for a move the table does not allow."""


def check_transition(current: Phase, target: Phase) -> Phase:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} → {target} is not a legal move")
    return target
