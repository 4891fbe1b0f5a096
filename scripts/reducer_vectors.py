"""Reducer vectors: games played by the server's own rules, seen by one player.

Each vector is a table view as `sync.state` carries it, the session events that followed,
and the view the server gives after them; a client's reducer must turn the first into the
last. Narration text streams through the engine's lane beside the table, so the views here
are taken with the lane's text, as a sync would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from game import commands as c
from game.rules import apply
from game.state import Table, Told
from game.view import table_view
from protocol.events import Event, Logged, NarrationDelta
from protocol.types import Bowl, NarrationSource, PlayerId, SessionId
from protocol.wire import Wire, to_wire

MINJI, ALEX, JUN = PlayerId("p_minji"), PlayerId("p_alex"), PlayerId("p_jun")
T0 = 1_764_140_000_000
"""A start time in ms since the epoch (beyond 2^31, as every real one is)."""


def _bowl(*ingredients: str, spice: int) -> Bowl:
    return Bowl(ingredients=ingredients, spice=spice)


@dataclass
class Timeline:
    """A table played step by step, with everything a vector needs of each step."""

    viewer: PlayerId
    table: Table = field(
        default_factory=lambda: Table(session=SessionId("s_vectors"), code="MRTNG7", seed=7)
    )
    told: Told | None = None
    seq: int = 0
    now: int = T0
    vectors: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> Wire:
        return to_wire(table_view(self.table, self.viewer, told=self.told))

    def step(
        self, name: str, *commands: c.Command, told: tuple[str, ...] = (), record: bool = True
    ) -> list[Wire]:
        """Runs the commands (then streams `told` as narration deltas) as one vector."""
        before, events, own = self.view(), [], {}
        for command in commands:
            if isinstance(command, c.Submit) and command.player == self.viewer:
                own[str(command.round)] = to_wire(command.bowl)
            self.table, produced = apply(self.table, command)
            events += [self._log(event) for event in produced]
            self._follow_the_lane()
        for text in told:
            events.append(self.tell(text))
        if record:
            self.vectors.append(
                {
                    "name": name,
                    "viewer": self.viewer,
                    "before": before,
                    "events": events,
                    "own_bowls": own,
                    "after": self.view(),
                }
            )
        return events

    def tell(self, text: str) -> Wire:
        told = self.told
        assert told is not None, "nothing is streaming"
        self.told = Told(told.nid, told.text + text, ("llm",))
        return self._log(NarrationDelta(nid=told.nid, text=text))

    def end(self, source: NarrationSource = "llm") -> c.NarrateEnd:
        told = self.told
        assert told is not None, "nothing is streaming"
        return c.NarrateEnd(told.nid, told.text, source, self.tick())

    def tick(self, ms: int = 1_500) -> int:
        self.now += ms
        return self.now

    def _log(self, event: Event) -> Wire:
        self.seq += 1
        return Logged(self.table.session, self.seq, event).to_wire()

    def _follow_the_lane(self) -> None:
        streaming = self.table.streaming
        if streaming is None:
            self.told = None
        elif self.told is None or self.told.nid != streaming:
            self.told = Told(streaming)


def _whole(timeline: Timeline, name: str, before: Wire, first: int) -> dict[str, Any]:
    """One vector of everything from `first` on: the steps' events, joined."""
    steps = timeline.vectors[first:]
    own: dict[str, Any] = {}
    for step in steps:
        own.update(step["own_bowls"])
    events = [event for step in steps for event in step["events"]]
    return {
        "name": name,
        "viewer": timeline.viewer,
        "before": before,
        "events": events,
        "own_bowls": own,
        "after": timeline.view(),
    }


def a_whole_game() -> list[dict[str, Any]]:
    """Three players from an empty table to the finale, seen by 민지: a vector per step, and
    the whole game as one vector."""
    game = Timeline(viewer=MINJI)
    empty = game.view()
    game.step("the first player sits and becomes the host", c.Join(MINJI, "민지"))
    game.step("two more join", c.Join(ALEX, "Alex"), c.Join(JUN, "준"))
    game.step("the host changes the settings", c.ChangeSettings(MINJI, rounds=2, seconds=30))
    game.step("the host starts: round 1 and its entrance", c.Start(MINJI, game.tick()))
    game.step("the entrance streams", told=("안녕하세요, ", "마라탕 ", "주세요."))
    game.step(
        "another player submits while the entrance streams",
        c.Submit(ALEX, 1, _bowl("potato", "shrimp", "dumplings", spice=3), game.tick()),
    )
    game.step("the entrance ends", game.end())
    game.step("a player drops and comes back", c.Away(JUN), c.Back(JUN))
    game.step(
        "the viewer submits",
        c.Submit(MINJI, 1, _bowl("bok_choy", "enoki", "beef", spice=2), game.tick()),
    )
    game.step(
        "the viewer changes their bowl",
        c.Submit(MINJI, 1, _bowl("bok_choy", "enoki", "beef", "lotus_root", spice=1), game.tick()),
    )
    game.step(
        "the last bowl resolves the round and the tasting streams",
        c.Submit(JUN, 1, _bowl("napa_cabbage", "wood_ear", "shiitake", spice=4), game.tick()),
        told=("맛있네요!",),
    )
    game.step("the tasting ends and round 2 begins", game.end("fallback"))
    game.step("round 2's entrance streams", told=("또 왔어요.",))
    game.step("the entrance of round 2 ends", game.end("mixed"))
    game.step(
        "a player goes away while another submits",
        c.Away(JUN),
        c.Submit(ALEX, 2, _bowl("potato", "corn_noodles", "beef", spice=0), game.tick()),
    )
    game.step(
        "the away player times out and the deadline resolves the round without the viewer's bowl",
        c.GraceOver(JUN),
        c.CloseRound(2, game.tick()),
        told=("아쉽네요.",),
    )
    game.step("the last tasting ends: game over, the finale streams", game.end(), told=("끝!",))
    game.step("the finale ends", game.end())
    game.step("a player leaves after the game", c.Leave(ALEX))
    return [*game.vectors, _whole(game, "a whole game, from an empty table", empty, 0)]


def a_late_sync() -> list[dict[str, Any]]:
    """The joiner's trap: a player who joins just as the host starts gets a `sync` of a
    started game, so no `round.started` of that round ever reaches them. Their view starts
    from that sync, mid-entrance, and must carry on from it."""
    game = Timeline(viewer=JUN)
    game.step("", c.Join(MINJI, "민지"), c.Join(JUN, "준"), record=False)
    game.step("", c.Start(MINJI, game.tick()), told=("어서 ",), record=False)
    synced = game.view()
    first = len(game.vectors)
    game.step("the entrance goes on", told=("오세요.",))
    game.step(
        "both submit while the entrance streams: the tasting waits for it",
        c.Submit(MINJI, 1, _bowl("beef", "enoki", "potato", spice=2), game.tick()),
        c.Submit(JUN, 1, _bowl("shrimp", "dumplings", "bok_choy", spice=1), game.tick()),
    )
    game.step("the entrance ends and the waiting tasting starts", game.end(), told=("좋아요",))
    game.step("the host leaves mid-narration: 준 hosts", c.Leave(MINJI))
    game.step("the last player leaves: the table closes", c.Leave(JUN))
    return [*game.vectors, _whole(game, "from a sync taken after the start", synced, first)]


def reducer_vectors() -> dict[str, Any]:
    return {
        "protocol": "maratang.v1",
        "about": "Table views kept by a client. Each vector: `before`, a table view as "
        "sync.state carries it, seen by `viewer`; `events`, the session events that followed, "
        "in seq order; `after`, the view the server gives after them. Apply each event to "
        "`before` in order; when a `bowl.submitted` names the viewer, set the view's `bowl` to "
        "`own_bowls[str(round)]`, the bowl the viewer sent (no event carries it). The result "
        "must equal `after`, with a null field and an absent field taken as the same. Made "
        "from the server's own rules and view by scripts/make_vectors.py.",
        "vectors": [*a_whole_game(), *a_late_sync()],
    }
