"""Who may open a socket: this process's cap on connections, the per-address limits, and the
per-player cap on open sockets (shared by every process through the engine's slots)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from protocol.errors import CloseCode, ErrorCode, ProtocolError
from protocol.types import PlayerId
from realtime.connection import Connection
from realtime.limits import AddressLimits, AddressRules
from realtime.settings import Settings
from storage.engine import Engine, EngineUnavailable


def socket_pool(player: PlayerId) -> str:
    """The engine's slot pool that counts one player's open sockets."""
    return f"sockets:{player}"


class Admission:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self.addresses = AddressLimits(
            AddressRules(
                connects_per_second=settings.address_connects_per_second,
                connects_burst=settings.address_connects_burst,
                sockets=settings.address_sockets,
                pending=settings.address_pending,
                signins_per_minute=settings.address_signins_per_minute,
                exempt=AddressRules.parse_exempt(settings.limit_exempt),
            )
        )
        self.sockets = 0
        """WebSockets of this process, from their handshake until they go."""

    def admit(self, address: str | None) -> tuple[int, str] | None:
        """Count a new WebSocket from `address` (see `AddressLimits.key`); or the HTTP status
        and reason its handshake is refused with."""
        if self.sockets >= self._settings.max_connections:
            return 503, "this server holds all the connections it may: try again soon"
        refused = self.addresses.open_socket(address)
        if refused is not None:
            return 429, refused
        self.sockets += 1
        return None

    def said_hello(self, address: str | None) -> None:
        """An admitted socket said `hello` (or went away before)."""
        self.addresses.hello_over(address)

    def gone(self, address: str | None) -> None:
        """An admitted socket went away."""
        self.sockets -= 1
        self.addresses.socket_gone(address)

    async def hold(self, conn: Connection) -> None:
        """Count `conn` among its player's open sockets, or refuse it (`rate_limited`, then
        close 1013: the client retries once one of its other sockets has gone)."""
        limit = self._settings.player_sockets
        ttl = self._settings.presence_ttl
        if not await self._engine.acquire_slot(socket_pool(conn.player.id), conn.id, limit, ttl):
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"this player has {limit} sockets open already",
                close=CloseCode.TRY_AGAIN_LATER,
            )

    async def renew(self, connections: Iterable[Connection]) -> None:
        """Keep the sockets of this process counted (an uncounted one lapses with its
        process: `presence_ttl`)."""
        limit, ttl = self._settings.player_sockets, self._settings.presence_ttl
        for conn in connections:
            await self._engine.acquire_slot(socket_pool(conn.player.id), conn.id, limit, ttl)

    async def release(self, conn: Connection) -> None:
        with contextlib.suppress(EngineUnavailable):  # else the slot lapses on its own
            await self._engine.release_slot(socket_pool(conn.player.id), conn.id)
