"""What storage reports as it works: how long each engine call takes, which ones found the
store unreachable, and how the records queue stands. The server's metrics
(`realtime.metrics`) implement these interfaces; `Unobserved` reports nowhere, so a store
made without an observer (a test, a tool) works the same."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from storage.engine import EngineUnavailable

P = ParamSpec("P")
R = TypeVar("R")


class EngineObserver(Protocol):
    """Told of every engine call that reaches the store. Calls are quick and never raise."""

    def engine_call(self, operation: str, seconds: float) -> None:
        """`operation` (the engine method's name) ended, with or without an error."""
        ...

    def engine_unavailable(self, operation: str) -> None:
        """`operation` raised `EngineUnavailable`: the store could not be reached."""
        ...

    def engine_unreplicated(self, operation: str, count: int) -> None:
        """`count` writes of `operation` stood without the replicas they waited for."""
        ...


class RecordsObserver(Protocol):
    """Told how the write-behind records fare. Calls are quick and never raise."""

    def records_pending(self, count: int) -> None:
        """`count` writes wait for the database now."""
        ...

    def records_written(self, count: int) -> None: ...

    def records_dropped(self, count: int) -> None: ...

    def records_retried(self) -> None:
        """An attempt failed because the database was unreachable; it is tried again."""
        ...


class Unobserved:
    """Reports nowhere."""

    def engine_call(self, operation: str, seconds: float) -> None:
        pass

    def engine_unavailable(self, operation: str) -> None:
        pass

    def engine_unreplicated(self, operation: str, count: int) -> None:
        pass

    def records_pending(self, count: int) -> None:
        pass

    def records_written(self, count: int) -> None:
        pass

    def records_dropped(self, count: int) -> None:
        pass

    def records_retried(self) -> None:
        pass


UNOBSERVED = Unobserved()


class Observed(Protocol):
    observer: EngineObserver


S = TypeVar("S", bound=Observed)


def observed(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """An engine method that tells its engine's `observer` how long each call took, and
    whether the store was out of reach."""
    operation = method.__name__

    @functools.wraps(method)
    async def timed(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        except EngineUnavailable:
            self.observer.engine_unavailable(operation)
            raise
        finally:
            self.observer.engine_call(operation, time.perf_counter() - started)

    return timed
