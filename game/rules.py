"""Maratang's rules: `apply(table, command) -> (table, events)`, pure and deterministic.

A rule either returns the new table with the events that describe the change, or raises
`ProtocolError` and the table is unchanged. Commands that arrive too late to matter (a
deadline for a round already closed) return the table unchanged with no events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from game import commands as c
from game.catalog import CUSTOMERS, CUSTOMERS_BY_ID, INGREDIENTS_BY_ID, CustomerId, IngredientId
from game.phases import check_transition
from game.scoring import Plate, score
from game.state import NarrationState, Seat, Submission, Table
from game.view import customer_view
from protocol.errors import ErrorCode, ProtocolError, invalid
from protocol.events import (
    BowlSubmitted,
    Event,
    GameOver,
    GameStarted,
    HostChanged,
    NarrationEnd,
    NarrationStart,
    PlayerAway,
    PlayerBack,
    PlayerJoined,
    PlayerLeft,
    RoundResolved,
    RoundStarted,
    SessionClosed,
    SettingsChanged,
)
from protocol.types import (
    MAX_PLAYERS,
    NarrationId,
    NarrationKind,
    Phase,
    PlayerId,
    PlayerView,
    RankEntry,
    Result,
    game_id,
)

Outcome = tuple[Table, tuple[Event, ...]]
UNCHANGED: tuple[Event, ...] = ()


def apply(table: Table, command: c.Command) -> Outcome:
    if table.phase == "closed":
        raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, "this table has closed")
    handler: Callable[[Table, Any], Outcome] = _HANDLERS[type(command)]
    return handler(table, command)


# Seating --------------------------------------------------------------------------------


def _join(table: Table, cmd: c.Join) -> Outcome:
    if table.seat(cmd.player) is not None:
        return _back(table, c.Back(cmd.player))
    if table.phase != "lobby":
        raise ProtocolError(ErrorCode.WRONG_PHASE, "the game has already started")
    if len(table.seats) >= MAX_PLAYERS:
        raise ProtocolError(ErrorCode.SESSION_FULL, f"a table seats {MAX_PLAYERS} players")
    table = replace(table, seats=(*table.seats, Seat(cmd.player, cmd.name)))
    events: tuple[Event, ...] = (PlayerJoined(player=PlayerView(cmd.player, cmd.name)),)
    if table.host is None:
        table = replace(table, host=cmd.player)
        events += (HostChanged(host=cmd.player),)
    return table, events


def _leave(table: Table, cmd: c.Leave) -> Outcome:
    _seated(table, cmd.player)
    seats = tuple(s for s in table.seats if s.player != cmd.player)
    table = replace(table, seats=seats)
    events: tuple[Event, ...] = (PlayerLeft(player=cmd.player, reason=cmd.reason),)
    if not seats:
        table = replace(table, phase=check_transition(table.phase, "closed"), deadline=None)
        return table, (*events, SessionClosed(reason="empty"))
    if table.host == cmd.player:
        table = replace(table, host=seats[0].player)
        events += (HostChanged(host=seats[0].player),)
    return _close_if_all_submitted(table, events)


def _away(table: Table, cmd: c.Away) -> Outcome:
    seat = _seated(table, cmd.player)
    if seat.away:
        return table, UNCHANGED
    table = _with_seat(table, replace(seat, away=True))
    return _close_if_all_submitted(table, (PlayerAway(player=cmd.player),))


def _back(table: Table, cmd: c.Back) -> Outcome:
    seat = _seated(table, cmd.player)
    if not seat.away:
        return table, UNCHANGED
    return _with_seat(table, replace(seat, away=False)), (PlayerBack(player=cmd.player),)


def _grace_over(table: Table, cmd: c.GraceOver) -> Outcome:
    seat = table.seat(cmd.player)
    if seat is None or not seat.away:
        return table, UNCHANGED
    return _leave(table, c.Leave(cmd.player, reason="timeout"))


def _seated(table: Table, player: PlayerId) -> Seat:
    seat = table.seat(player)
    if seat is None:
        raise ProtocolError(ErrorCode.NOT_IN_SESSION, "you are not seated at this table")
    return seat


def _with_seat(table: Table, seat: Seat) -> Table:
    seats = tuple(seat if s.player == seat.player else s for s in table.seats)
    return replace(table, seats=seats)


def _host_only(table: Table, player: PlayerId, phase: Phase) -> None:
    _seated(table, player)
    if table.host != player:
        raise ProtocolError(ErrorCode.NOT_HOST, "only the host can do that")
    if table.phase != phase:
        raise ProtocolError(ErrorCode.WRONG_PHASE, f"only possible in the {phase}")


# Lobby ----------------------------------------------------------------------------------


def _change_settings(table: Table, cmd: c.ChangeSettings) -> Outcome:
    _host_only(table, cmd.player, "lobby")
    current = table.settings
    settings = replace(
        current,
        rounds=cmd.rounds if cmd.rounds is not None else current.rounds,
        seconds=cmd.seconds if cmd.seconds is not None else current.seconds,
        lang=cmd.lang if cmd.lang is not None else current.lang,
    )
    event = SettingsChanged(rounds=settings.rounds, seconds=settings.seconds, lang=settings.lang)
    return replace(table, settings=settings), (event,)


def draw_customers(seed: int, rounds: int) -> tuple[CustomerId, ...]:
    """The game's customers: the same seed always draws the same ones, in the same order."""
    return tuple(random.Random(seed).sample([x.id for x in CUSTOMERS], rounds))


def _start(table: Table, cmd: c.Start) -> Outcome:
    _host_only(table, cmd.player, "lobby")
    table = replace(table, customers=draw_customers(table.seed, table.settings.rounds))
    started = GameStarted(
        rounds=table.settings.rounds, players=tuple(s.player for s in table.seats)
    )
    table, events = _start_round(table, 1, cmd.now)
    return table, (started, *events)


# Rounds ---------------------------------------------------------------------------------


def _start_round(table: Table, number: int, now: int) -> Outcome:
    deadline = now + table.settings.seconds * 1000
    table = replace(
        table,
        phase=check_transition(table.phase, "picking"),
        round=number,
        deadline=deadline,
        bowls=MappingProxyType({}),
        results=None,
    )
    customer = CUSTOMERS_BY_ID[table.customers[number - 1]]
    started = RoundStarted(round=number, customer=customer_view(customer), deadline=deadline)
    table, narration = _narrate(table, "entrance")
    return table, (started, *narration)


def _submit(table: Table, cmd: c.Submit) -> Outcome:
    _seated(table, cmd.player)
    if table.phase != "picking":
        raise ProtocolError(ErrorCode.WRONG_PHASE, "bowls are taken only while picking")
    if cmd.round != table.round:
        raise invalid("round", f"the current round is {table.round}")
    unknown = [i for i in cmd.bowl.ingredients if i not in INGREDIENTS_BY_ID]
    if unknown:
        raise invalid("ingredients", f"unknown ingredient {unknown[0]!r}")
    bowls = MappingProxyType({**table.bowls, cmd.player: Submission(cmd.bowl, cmd.now)})
    table = replace(table, bowls=bowls)
    submitted = (BowlSubmitted(round=table.round, player=cmd.player),)
    return _close_if_all_submitted(table, submitted)


def _close_if_all_submitted(table: Table, events: tuple[Event, ...]) -> Outcome:
    present = table.present()
    if table.phase != "picking" or not present:
        return table, events
    if any(seat.player not in table.bowls for seat in present):
        return table, events
    table, closing = _close_round(table)
    return table, events + closing


def _close(table: Table, cmd: c.CloseRound) -> Outcome:
    if table.phase != "picking" or cmd.round != table.round:
        return table, UNCHANGED
    return _close_round(table)


def _close_round(table: Table) -> Outcome:
    results = _results(table)
    gained = {r.player: r.score for r in results}
    seats = tuple(replace(s, total=s.total + gained.get(s.player, 0)) for s in table.seats)
    table = replace(
        table,
        phase=check_transition(table.phase, "tasting"),
        seats=seats,
        deadline=None,
        results=results,
    )
    totals = {s.player: s.total for s in seats}
    resolved = RoundResolved(round=table.round, results=results, totals=totals)
    table, narration = _narrate(table, "tasting")
    return table, (resolved, *narration)


def _results(table: Table) -> tuple[Result, ...]:
    customer = CUSTOMERS_BY_ID[table.customers[table.round - 1]]
    scored: list[tuple[int, int, int, Result]] = []
    for order, seat in enumerate(table.seats):
        entry = table.bowls.get(seat.player)
        if entry is None:
            result = Result(player=seat.player, score=0, place=0, breakdown=())
            scored.append((1, 0, order, result))
            continue
        plate = Plate(
            tuple(INGREDIENTS_BY_ID[IngredientId(i)] for i in entry.bowl.ingredients),
            entry.bowl.spice,
        )
        points, breakdown = score(plate, customer)
        result = Result(
            player=seat.player, score=points, place=0, breakdown=breakdown, bowl=entry.bowl
        )
        scored.append((0, -points, entry.at, result))
    scored.sort(key=lambda item: item[:3])
    return tuple(replace(item[3], place=place) for place, item in enumerate(scored, start=1))


def _finish(table: Table) -> Outcome:
    ranking = final_ranking(table.seats)
    table = replace(table, phase=check_transition(table.phase, "over"), ranking=ranking)
    table, narration = _narrate(table, "finale")
    return table, (GameOver(ranking=ranking, game=game_id(table.session)), *narration)


def final_ranking(seats: tuple[Seat, ...]) -> tuple[RankEntry, ...]:
    """Highest total first; equal totals share a place (1, 1, 3), in seat order."""
    ordered = sorted(seats, key=lambda s: -s.total)
    return tuple(
        RankEntry(
            player=s.player,
            name=s.name,
            total=s.total,
            place=1 + sum(1 for o in seats if o.total > s.total),
        )
        for s in ordered
    )


# Narration ------------------------------------------------------------------------------


def narration_id(kind: NarrationKind, round_number: int) -> NarrationId:
    return NarrationId("finale" if kind == "finale" else f"r{round_number}.{kind}")


def narration_of(nid: NarrationId, last_round: int) -> tuple[NarrationKind, int]:
    """The kind and round a narration id names (the finale belongs to the last round)."""
    if nid == "finale":
        return "finale", last_round
    head, _, kind = nid.partition(".")
    if kind not in ("entrance", "tasting") or not head[1:].isdigit():
        raise ValueError(f"not a narration id: {nid!r}")
    return ("entrance" if kind == "entrance" else "tasting"), int(head[1:])


def _narrate(table: Table, kind: NarrationKind) -> Outcome:
    """Start a narration, or queue it behind the one still streaming (at most one streams)."""
    if table.narration is not None and table.narration.streaming:
        return replace(table, pending=kind), UNCHANGED
    nid = narration_id(kind, table.round)
    table = replace(table, narration=NarrationState(nid, kind, table.round), pending=None)
    return table, (NarrationStart(nid=nid, kind=kind, round=table.round),)


def _streaming(table: Table, nid: NarrationId) -> NarrationState:
    narration = table.narration
    if narration is None or narration.nid != nid or not narration.streaming:
        raise ProtocolError(ErrorCode.WRONG_PHASE, f"narration {nid} is not streaming")
    return narration


def _narrate_end(table: Table, cmd: c.NarrateEnd) -> Outcome:
    narration = replace(_streaming(table, cmd.nid), text=cmd.text, source=cmd.source)
    table = replace(table, narration=narration)
    ended = (NarrationEnd(nid=cmd.nid, text=cmd.text, source=cmd.source),)
    if table.pending is not None:
        table, started = _narrate(table, table.pending)
        return table, ended + started
    if narration.kind != "tasting" or table.phase != "tasting":
        return table, ended
    if table.round < table.settings.rounds:
        table, following = _start_round(table, table.round + 1, cmd.now)
    else:
        table, following = _finish(table)
    return table, ended + following


_HANDLERS: dict[type, Callable[[Table, Any], Outcome]] = {
    c.Join: _join,
    c.Leave: _leave,
    c.Away: _away,
    c.Back: _back,
    c.GraceOver: _grace_over,
    c.ChangeSettings: _change_settings,
    c.Start: _start,
    c.Submit: _submit,
    c.CloseRound: _close,
    c.NarrateEnd: _narrate_end,
}
