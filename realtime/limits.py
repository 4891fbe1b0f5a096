"""Limits on what one client may do: per socket (commands per second), and per address in
this process (new sockets, sockets that have not said `hello`, sign-ins).

Per-player limits (sockets, tables, failed joins) are shared by every process and live in
the engine (`Engine.tally`, `Engine.acquire_slot`); the dispatcher and the `/ws` endpoint
apply them.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_STRIKES = 20
"""Bad frames in a row before a socket is closed for abuse."""
ADDRESSES = 65_536
"""Addresses whose rates are remembered; the longest idle is forgotten beyond it."""
Clock = Callable[[], float]


class TokenBucket:
    """Allows `rate` actions a second on average, `burst` at once."""

    __slots__ = ("_at", "_burst", "_clock", "_rate", "_tokens")

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass(frozen=True, slots=True)
class AddressRules:
    connects_per_second: float
    connects_burst: int
    sockets: int
    """Sockets one address may have open."""
    pending: int
    """... of which in the handshake or before `hello`."""
    signins_per_minute: int
    exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse_exempt(cls, text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Comma-separated addresses or networks (`10.0.0.0/8`); ValueError naming a bad one."""
        networks = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"MARATANG_LIMIT_EXEMPT: {item!r} is no address or network"
                ) from None
        return tuple(networks)


class AddressLimits:
    """What one client address may open in this process. An IPv6 client is counted by its
    /64 (one subscriber's network), and exempt networks are never limited."""

    def __init__(self, rules: AddressRules, clock: Clock = time.monotonic) -> None:
        self._rules = rules
        self._clock = clock
        self._connects: OrderedDict[str, TokenBucket] = OrderedDict()
        self._signins: OrderedDict[str, TokenBucket] = OrderedDict()
        self._open: dict[str, int] = {}
        self._pending: dict[str, int] = {}

    def key(self, address: str | None) -> str | None:
        """The address as limits count it; None when it is exempt (or unknown)."""
        if not address:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address  # a unix socket path or a proxy's placeholder: one bucket
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # an IPv4 client of a dual-stack socket is that IPv4 client
        if any(ip in network for network in self._rules.exempt):
            return None
        if ip.version == 6:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def open_socket(self, key: str | None) -> str | None:
        """Count a new socket from `key`, open (until `socket_gone`) and pending (until
        `hello_over`); the reason it is refused instead, if it is."""
        if key is None:
            return None
        if self._open.get(key, 0) >= self._rules.sockets:
            return f"more than {self._rules.sockets} sockets from one address"
        if self._pending.get(key, 0) >= self._rules.pending:
            return f"more than {self._rules.pending} sockets from one address wait for hello"
        rate, burst = self._rules.connects_per_second, self._rules.connects_burst
        if not self._bucket(self._connects, key, rate, burst).take():
            return f"more than {rate:g} new sockets a second from one address"
        _count(self._open, key, +1)
        _count(self._pending, key, +1)
        return None

    def hello_over(self, key: str | None) -> None:
        """The socket `open_socket` counted said hello, or went away before."""
        if key is not None:
            _count(self._pending, key, -1)

    def socket_gone(self, key: str | None) -> None:
        """The socket `open_socket` counted went away."""
        if key is not None:
            _count(self._open, key, -1)

    def sign_in(self, key: str | None) -> bool:
        """Whether `key` may sign in one more guest now."""
        if key is None:
            return True
        per_minute = self._rules.signins_per_minute
        return self._bucket(self._signins, key, per_minute / 60, per_minute).take()

    def _bucket(
        self, buckets: OrderedDict[str, TokenBucket], key: str, rate: float, burst: int
    ) -> TokenBucket:
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(rate, burst, self._clock)
            if len(buckets) > ADDRESSES:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
        return bucket


def _count(counts: dict[str, int], key: str, change: int) -> None:
    """Add `change` to `key`'s count; a count of 0 is no entry (addresses come and go)."""
    value = counts.get(key, 0) + change
    if value > 0:
        counts[key] = value
    else:
        counts.pop(key, None)
