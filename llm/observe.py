"""What the model narrator reports as it works: handovers to the fallback, stalls, time to
first token and per token, requests in flight, narrations waiting for a slot, narrations
shortened because many waited, each model server's breaker, and what the checks on its text
found. The server's metrics (`realtime.metrics`) implement `NarrationObserver`; `Unobserved`
reports nowhere."""

from __future__ import annotations

from typing import Protocol


class NarrationObserver(Protocol):
    """Calls are quick and never raise."""

    def fallback(self, reason: str) -> None:
        """A narration (or its rest) was handed to the fallback; `reason` is a `ModelError`
        reason, `busy` (no slot in time) or `unavailable` (every breaker open)."""
        ...

    def stalled(self) -> None:
        """A model stream was stopped because its text stopped coming."""
        ...

    def first_token(self, seconds: float) -> None:
        """A model request's first text came `seconds` after the request."""
        ...

    def time_per_output_token(self, seconds: float) -> None:
        """A finished stream took `seconds` per token after its first."""
        ...

    def requests_in_flight(self, change: int) -> None:
        """Model requests streaming now went up or down by `change`."""
        ...

    def narrations_waiting(self, change: int) -> None:
        """Narrations waiting for a model slot went up or down by `change`."""
        ...

    def shortened(self, step: str) -> None:
        """A narration asked for a share of its tokens (`step`, such as `0.75`) because many
        narrations were waiting for a slot when it got one."""
        ...

    def breaker(self, endpoint: str, blocking: bool) -> None:
        """The breaker of the model server at `endpoint` (host:port) keeps requests from it
        (open, or probing) or lets them through."""
        ...

    def check_failed(self, check: str) -> None:
        """The model's text failed a check (`words`, `guard`, `tasting`): the rest of the
        narration was handed to the fallback, reason `moderated`."""
        ...

    def guard_unanswered(self) -> None:
        """The guard model gave no verdict in time (the text went on unchecked by it, or was
        taken as unsafe when the guard fails closed)."""
        ...

    def placeholder_dropped(self, why: str) -> None:
        """A placeholder in a narration was `unknown` or `malformed`, and dropped."""
        ...


class Unobserved:
    """Reports nowhere."""

    def fallback(self, reason: str) -> None:
        pass

    def stalled(self) -> None:
        pass

    def first_token(self, seconds: float) -> None:
        pass

    def time_per_output_token(self, seconds: float) -> None:
        pass

    def requests_in_flight(self, change: int) -> None:
        pass

    def narrations_waiting(self, change: int) -> None:
        pass

    def shortened(self, step: str) -> None:
        pass

    def breaker(self, endpoint: str, blocking: bool) -> None:
        pass

    def check_failed(self, check: str) -> None:
        pass

    def guard_unanswered(self) -> None:
        pass

    def placeholder_dropped(self, why: str) -> None:
        pass


UNOBSERVED = Unobserved()
