"""Where the Redis engine keeps what: its key names, on one Redis or on a Redis Cluster.

A table's keys (state hash, log, lane text, presence marks, doorbell channel) share the
table's session id as a hash tag on a Cluster (`maratang:s:{s_…}`), so a commit, an append or
a load is one script on one shard. On one Redis the same names are written without the braces,
as releases before Cluster support wrote them, so an upgraded server finds its live tables.

State that is not a table's is laid out so that no operation needs keys on two shards:
- deadlines and presence marks are kept in `shards` buckets (a table's bucket follows its
  session id); each bucket's keys share a hash tag, and the claimers go round every bucket;
- a join code, a slot pool, a lease and a tally are each one key, on whatever shard it hashes to.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from protocol.types import SessionId

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
CLUSTER_SHARDS = 16
"""Deadline and presence buckets on a Cluster: enough to spread them over the masters."""


@dataclass(frozen=True)
class Keys:
    prefix: str
    tagged: bool = False
    """Hash tags on the table keys and the buckets (a Cluster)."""
    shards: int = 1

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            raise ValueError(f"the Redis key prefix {self.prefix!r} must not hold '{{' or '}}'")
        if self.shards < 1:
            raise ValueError("the Redis engine needs at least one bucket")

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def table(self, kind: str, session: SessionId) -> str:
        """One of a table's keys: `s` state, `log`, `told`, `pres` presence, `ch` channel."""
        return self.key(kind, f"{{{session}}}" if self.tagged else session)

    def state(self, session: SessionId) -> list[str]:
        """The state hash, the log and the narration lane's text of a session."""
        return [self.table("s", session), self.table("log", session), self.table("told", session)]

    def code(self, code: str) -> str:
        return self.key("code", code)

    def shard_of(self, session: SessionId) -> int:
        return zlib.crc32(session.encode()) % self.shards

    def _bucket(self, name: str, shard: int, *parts: str) -> str:
        if self.shards == 1 and not self.tagged:
            return self.key(name, *parts)  # the names of releases before Cluster support
        return self.key(name, *parts, f"{{{name[0]}{shard}}}")

    def deadlines(self, shard: int) -> list[str]:
        """A bucket's due zset, claimed zset and claims hash (see `deadline_set.lua`)."""
        return [
            self._bucket("deadlines", shard),
            self._bucket("deadlines", shard, "claimed"),
            self._bucket("deadlines", shard, "claims"),
        ]

    def presence(self, shard: int) -> str:
        """A bucket's index of presence marks (see `presence_set.lua`)."""
        return self._bucket("presence", shard)


@dataclass(frozen=True)
class ClusterURL:
    """`redis+cluster://[user:password@]host:port[,host:port…][/db]`: the nodes to start
    from (any of the masters will do; more of them survive one being down), and the
    credentials. `rediss+cluster://` speaks TLS."""

    nodes: list[tuple[str, int]]
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> ClusterURL:
        if not url.startswith(CLUSTER_SCHEMES):
            raise ValueError("a Redis Cluster URL starts with redis+cluster://")
        scheme, rest = url.split("://", 1)
        userinfo, _, where = rest.rpartition("@")
        hosts, _, db = where.split("?", 1)[0].partition("/")
        if db not in ("", "0"):
            raise ValueError("a Redis Cluster has database 0 only: end its URL with /0 or nothing")
        nodes = []
        for address in filter(None, hosts.split(",")):
            parts = urlsplit(f"//{address}")
            try:
                port = parts.port or 6379
            except ValueError as exc:
                raise ValueError(f"a Redis Cluster node {address!r} has a bad port") from exc
            if not parts.hostname:
                raise ValueError(f"a Redis Cluster node {address!r} has no host")
            nodes.append((parts.hostname, port))
        if not nodes:
            raise ValueError("a Redis Cluster URL names at least one node: host:port")
        username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
        return cls(
            nodes,
            unquote(username) or None,
            unquote(password) or None,
            scheme == "rediss+cluster",
        )


def node_of(client: Redis | RedisCluster, key: str) -> str:
    """The name of the Cluster node that holds `key` ('' on a single Redis)."""
    if not isinstance(client, RedisCluster):
        return ""
    node = client.get_node_from_key(key)
    if node is None:
        raise redis.exceptions.SlotNotCoveredError(f"no Redis Cluster node serves {key!r}")
    return str(node.name)
