"""Server → client messages: replies to one connection, and session events.

Session events are what the rules produce and the engine logs. On the wire each carries the
session and its `seq` (per session, increasing by one, no gaps): `{t, session, seq, ...fields}`.
The event classes hold only their own fields; `Logged` pairs one with its place in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.messages import Rid
from protocol.types import (
    CustomerView,
    Lang,
    NarrationId,
    NarrationKind,
    NarrationSource,
    PlayerId,
    PlayerView,
    RankEntry,
    Result,
    SessionId,
    TableView,
)
from protocol.wire import Wire, to_wire

# Replies to one connection ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome:
    T: ClassVar[str] = "welcome"
    player: PlayerView
    heartbeat_ms: int
    server_time: int
    session: SessionId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    T: ClassVar[str] = "ack"
    rid: Rid | None = None
    session: SessionId | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Error:
    T: ClassVar[str] = "error"
    code: str
    message: str
    retry: bool
    rid: Rid | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pong:
    T: ClassVar[str] = "pong"
    ts: float
    server_time: int
    rid: Rid | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sync:
    T: ClassVar[str] = "sync"
    session: SessionId
    seq: int
    state: TableView


@dataclass(frozen=True, slots=True, kw_only=True)
class Bye:
    T: ClassVar[str] = "bye"
    reason: str
    retry_ms: int


# Session events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerJoined:
    T: ClassVar[str] = "player.joined"
    player: PlayerView


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerLeft:
    T: ClassVar[str] = "player.left"
    player: PlayerId
    reason: str
    """`left` (asked to), or `timeout` (away past the grace period)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerAway:
    T: ClassVar[str] = "player.away"
    player: PlayerId


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerBack:
    T: ClassVar[str] = "player.back"
    player: PlayerId


@dataclass(frozen=True, slots=True, kw_only=True)
class HostChanged:
    T: ClassVar[str] = "host.changed"
    host: PlayerId


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChanged:
    T: ClassVar[str] = "settings.changed"
    rounds: int
    seconds: int
    lang: Lang


@dataclass(frozen=True, slots=True, kw_only=True)
class GameStarted:
    T: ClassVar[str] = "game.started"
    rounds: int
    players: tuple[PlayerId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundStarted:
    T: ClassVar[str] = "round.started"
    round: int
    customer: CustomerView
    deadline: int
    """Milliseconds since the Unix epoch, server clock (see `welcome.server_time`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BowlSubmitted:
    T: ClassVar[str] = "bowl.submitted"
    round: int
    player: PlayerId


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundResolved:
    T: ClassVar[str] = "round.resolved"
    round: int
    results: tuple[Result, ...]
    """Best first; `place` 1 is the round's winner."""
    totals: dict[PlayerId, int]
    """Running total per player id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NarrationStart:
    T: ClassVar[str] = "narration.start"
    nid: NarrationId
    kind: NarrationKind
    round: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NarrationDelta:
    T: ClassVar[str] = "narration.delta"
    nid: NarrationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NarrationEnd:
    T: ClassVar[str] = "narration.end"
    nid: NarrationId
    text: str
    source: NarrationSource


@dataclass(frozen=True, slots=True, kw_only=True)
class GameOver:
    T: ClassVar[str] = "game.over"
    ranking: tuple[RankEntry, ...]
    game: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClosed:
    T: ClassVar[str] = "session.closed"
    reason: str


Event = (
    PlayerJoined
    | PlayerLeft
    | PlayerAway
    | PlayerBack
    | HostChanged
    | SettingsChanged
    | GameStarted
    | RoundStarted
    | BowlSubmitted
    | RoundResolved
    | NarrationStart
    | NarrationDelta
    | NarrationEnd
    | GameOver
    | SessionClosed
)

EVENTS: dict[str, type[Event]] = {
    cls.T: cls
    for cls in (
        PlayerJoined,
        PlayerLeft,
        PlayerAway,
        PlayerBack,
        HostChanged,
        SettingsChanged,
        GameStarted,
        RoundStarted,
        BowlSubmitted,
        RoundResolved,
        NarrationStart,
        NarrationDelta,
        NarrationEnd,
        GameOver,
        SessionClosed,
    )
}

Reply = Welcome | Ack | Error | Pong | Sync | Bye

REPLIES: dict[str, type[Reply]] = {cls.T: cls for cls in (Welcome, Ack, Error, Pong, Sync, Bye)}


@dataclass(frozen=True, slots=True)
class Logged:
    """A session event at its place in the session's log."""

    session: SessionId
    seq: int
    event: Event

    def to_wire(self) -> Wire:
        body = to_wire(self.event)
        return {"t": body.pop("t"), "session": self.session, "seq": self.seq, **body}
