"""Wire errors and close codes as data.

Every failure a client can see is one of these codes. Each code says whether retrying the same
command later can help, so clients need no table of their own. Exceptions become error frames
and close codes in exactly one place (the hub's connection loop).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"
    UNKNOWN_TYPE = "unknown_type"
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    NOT_IN_SESSION = "not_in_session"
    NOT_HOST = "not_host"
    WRONG_PHASE = "wrong_phase"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_FULL = "session_full"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    BUSY = "busy"
    INTERNAL = "internal"

    @property
    def retryable(self) -> bool:
        """Whether sending the same command again later can succeed."""
        return self in _RETRYABLE


_RETRYABLE = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.BUSY, ErrorCode.INTERNAL})


class CloseCode(IntEnum):
    """WebSocket close codes the server uses. 4xxx are Maratang's own."""

    NORMAL = 1000
    GOING_AWAY = 1001
    TOO_LARGE = 1009
    INTERNAL = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    UNAUTHORIZED = 4401
    SLOW_CONSUMER = 4408
    ABUSE = 4429

    @property
    def resumable(self) -> bool:
        """Whether a client should reconnect and resume after this close."""
        return self in _RESUMABLE

    @property
    def terminal(self) -> bool:
        """Whether no reconnect can succeed after this close: only a new sign-in (4401) or a
        person (4429) can help. Clients retry after every other close."""
        return self in _TERMINAL


_TERMINAL = frozenset({CloseCode.UNAUTHORIZED, CloseCode.ABUSE})
_RESUMABLE = frozenset(
    {
        CloseCode.GOING_AWAY,
        CloseCode.INTERNAL,
        CloseCode.SERVICE_RESTART,
        CloseCode.TRY_AGAIN_LATER,
        CloseCode.SLOW_CONSUMER,
    }
)


class ProtocolError(Exception):
    """A request the server refuses; becomes one `error` frame.

    `field` names the offending field for `invalid`, so a client can point at it; `close`,
    when set, is the close code the socket gets right after the error (the client went too
    far to be answered again).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        close: CloseCode | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.close = close

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r}, {self.message!r}, field={self.field!r})"


def invalid(field: str, message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID, f"{field}: {message}", field)
