"""Client → server messages, one frozen dataclass per `t`.

Any command may carry `rid`, a client-chosen request id echoed by the `ack` or `error` that
answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.errors import invalid
from protocol.types import CODE_ALPHABET, CODE_LENGTH, Bowl, Lang, SessionId, Settings

Rid = str | int

MAX_RID_LENGTH = 64
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    T: ClassVar[str]
    rid: Rid | None = None

    def __post_init__(self) -> None:
        if isinstance(self.rid, str) and len(self.rid) > MAX_RID_LENGTH:
            raise invalid("rid", f"at most {MAX_RID_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class Resume:
    session: SessionId
    seq: int

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise invalid("seq", "must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello(Command):
    T: ClassVar[str] = "hello"
    token: str
    resume: Resume | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not 0 < len(self.token) <= MAX_TOKEN_LENGTH:
            raise invalid("token", "missing or too long")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCreate(Command):
    T: ClassVar[str] = "session.create"
    settings: Settings | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionJoin(Command):
    T: ClassVar[str] = "session.join"
    code: str

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if len(self.code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in self.code):
            raise invalid("code", f"a join code is {CODE_LENGTH} letters from {CODE_ALPHABET}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLeave(Command):
    T: ClassVar[str] = "session.leave"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSettings(Command):
    """Change settings (host, lobby only); absent fields keep their value."""

    T: ClassVar[str] = "session.settings"
    rounds: int | None = None
    seconds: int | None = None
    lang: Lang | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        self.settings()  # validates the ranges

    def settings(self) -> Settings:
        return Settings(rounds=self.rounds, seconds=self.seconds, lang=self.lang)


@dataclass(frozen=True, slots=True, kw_only=True)
class GameStart(Command):
    T: ClassVar[str] = "game.start"


@dataclass(frozen=True, slots=True, kw_only=True)
class BowlSubmit(Command):
    T: ClassVar[str] = "bowl.submit"
    round: int
    ingredients: tuple[str, ...]
    spice: int

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        self.bowl()  # validates size, duplicates and spice

    def bowl(self) -> Bowl:
        return Bowl(ingredients=self.ingredients, spice=self.spice)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping(Command):
    T: ClassVar[str] = "ping"
    ts: float


ClientMessage = (
    Hello
    | SessionCreate
    | SessionJoin
    | SessionLeave
    | SessionSettings
    | GameStart
    | BowlSubmit
    | Ping
)

CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    cls.T: cls
    for cls in (
        Hello,
        SessionCreate,
        SessionJoin,
        SessionLeave,
        SessionSettings,
        GameStart,
        BowlSubmit,
        Ping,
    )
}
