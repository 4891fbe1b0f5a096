"""A Redis Cluster of the tests' own on loopback ports, and throwaway keys on any cluster.

A cluster URL lists the masters to start from, as the engine takes it:
`redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003/0`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.exceptions
from redis import Redis as SyncRedis
from redis.asyncio.cluster import ClusterNode, RedisCluster

REDIS_CLUSTER_URL = os.environ.get("MARATANG_TEST_REDIS_CLUSTER")
"""The cluster to test against; when unset, the tests start one of their own."""

SLOTS = 16384
HOST = "127.0.0.1"

Address = tuple[str, int]


@dataclass(frozen=True)
class Member:
    """One node as a cluster node sees it (a line of CLUSTER NODES)."""

    address: Address
    id: str
    flags: frozenset[str]
    master_id: str  # "-" for a master
    slots: tuple[tuple[int, int], ...]  # inclusive ranges

    @property
    def role(self) -> str:
        return "master" if "master" in self.flags else "replica"

    @property
    def failed(self) -> bool:
        return "fail" in self.flags  # the cluster agrees it is down (not just suspected: fail?)

    def serves(self, slot: int) -> bool:
        return any(first <= slot <= last for first, last in self.slots)


@dataclass(frozen=True)
class Node:
    """One node of a `LocalCluster`: its port, its role when asked, and its process."""

    port: int
    role: str  # "master" or "replica"
    process: subprocess.Popen[bytes]


class LocalCluster:
    """A Redis Cluster of the test's own: `masters` masters with `replicas` replicas each, on
    free loopback ports under `directory` (AOF with an fsync per write when `appendonly`).

    The node timeout is short so that a killed master is replaced within seconds."""

    def __init__(
        self,
        directory: Path,
        masters: int = 3,
        replicas: int = 0,
        appendonly: bool = False,
        node_timeout_ms: int = 1000,
    ) -> None:
        self.directory = directory
        self.masters = masters
        self.replicas = replicas
        self.appendonly = appendonly
        self.node_timeout_ms = node_timeout_ms
        count = masters * (1 + replicas)
        ports = free_ports(2 * count)  # a client port and a cluster bus port for each node
        self.ports, self.bus_ports = ports[:count], ports[count:]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.seeds: list[int] = []  # the masters the cluster was formed with
        self.killed: dict[int, list[int]] = {}  # a killed master's port: its replicas' ports

    @property
    def url(self) -> str:
        """The engine URL: every master the cluster was formed with."""
        return cluster_url([(HOST, port) for port in self.seeds])

    @property
    def nodes(self) -> list[Node]:
        """Every node, in port order, with its role as a live node sees it now."""
        roles = {member.address[1]: member.role for member in self.view()}
        return [Node(port, roles[port], self.processes[port]) for port in self.ports]

    def start(self) -> None:
        """Start the servers, form the cluster, and wait until every node says it is ok."""
        try:
            for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
                self.processes[port] = subprocess.Popen(self.command(port, bus_port))
            for port in self.ports:
                until(partial(self.answers, port), 10, f"redis-server on {port} answers")
            self.create()
            until(self.formed, 15, "the cluster is formed")
            self.seeds = sorted(m.address[1] for m in self.view() if m.role == "master")
        except BaseException:
            self.stop()
            raise

    def command(self, port: int, bus_port: int) -> list[str]:
        directory = self.directory / str(port)
        directory.mkdir(parents=True, exist_ok=True)
        return [
            "redis-server",
            *("--port", str(port), "--bind", HOST, "--dir", str(directory)),
            *("--cluster-enabled", "yes", "--cluster-port", str(bus_port)),
            *("--cluster-config-file", "nodes.conf"),
            *("--cluster-node-timeout", str(self.node_timeout_ms)),
            *("--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"),
            *("--save", "", "--daemonize", "no", "--logfile", str(directory / "redis.log")),
            # a replica's first sync starts at once instead of after the default 5 s
            *("--repl-diskless-sync-delay", "0"),
        ]

    def answers(self, port: int) -> bool:
        """The node at `port` answers a PING; RuntimeError when its process is gone."""
        if self.processes[port].poll() is not None:
            log = self.directory / str(port) / "redis.log"
            raise RuntimeError(f"redis-server on {port} stopped:\n{log.read_text()}")
        with ask(port) as client:
            return bool(client.ping())

    def create(self) -> None:
        result = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"{HOST}:{port}" for port in self.ports),
                *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{result.stdout}{result.stderr}"
            )

    def formed(self) -> bool:
        """Every node is ok, knows every other, and each replica is in sync with its master."""
        live = self.live_ports()
        views = {port: view(port) for port in live}
        masters = {m.address for m in views[live[0]] if m.role == "master"}
        return len(masters) == self.masters and all(
            healthy(port) and len(views[port]) == len(self.ports) and in_sync(port) for port in live
        )

    def stop(self) -> None:
        """Terminate every node and wait for it."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def live_ports(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is None]

    def view(self) -> list[Member]:
        """The cluster as the first live node sees it."""
        return view(self.live_ports()[0])

    def master_of(self, key: str) -> int:
        """The port of the master that serves `key`'s slot."""
        port = self.live_ports()[0]
        with ask(port) as client:
            slot = int(client.cluster("KEYSLOT", key))
        [master] = [m for m in view(port) if m.role == "master" and m.serves(slot)]
        return master.address[1]

    def kill(self, port: int) -> None:
        """SIGKILL the node at `port`, after noting which nodes replicate it."""
        members = view(port)
        [me] = [m for m in members if "myself" in m.flags]
        self.killed[port] = [m.address[1] for m in members if m.master_id == me.id]
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def until_failed_over(self, port: int, within: float = 15) -> int:
        """Wait until one of the replicas of the killed master at `port` has been promoted and
        every live node says the cluster is ok again; the promoted replica's port."""
        replicas = set(self.killed[port])
        if not replicas:
            raise ValueError(f"the master on {port} had no replica to promote")

        def promoted(live: int) -> set[int]:
            return {m.address[1] for m in view(live) if m.role == "master" and m.slots} & replicas

        def failed_over() -> bool:
            return all(healthy(live) and promoted(live) for live in self.live_ports())

        until(failed_over, within, f"a replica of the master on {port} is promoted")
        [replica] = promoted(self.live_ports()[0])
        return replica


def free_ports(count: int) -> list[int]:
    """`count` different free loopback ports (each held until all are picked)."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind((HOST, 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; a Redis error counts as not yet. TimeoutError (from the
    last error, if any) when it still does not hold after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        error: Exception | None = None
        try:
            if condition():
                return
        except redis.exceptions.RedisError as problem:
            error = problem
        if time.monotonic() > deadline:
            raise TimeoutError(f"not after {seconds} s: {what}") from error
        time.sleep(0.05)  # polling servers we started; bounded by the deadline


@contextmanager
def ask(port: int, host: str = HOST) -> Iterator[SyncRedis]:
    """A client of the single node at `port`, closed after use."""
    client = SyncRedis(
        host=host, port=port, decode_responses=True, socket_connect_timeout=1, socket_timeout=5
    )
    try:
        yield client
    finally:
        client.close()


def view(port: int, host: str = HOST) -> list[Member]:
    """The cluster as the node at `port` sees it (CLUSTER NODES)."""
    with ask(port, host) as client:
        lines: dict[str, dict[str, Any]] = client.cluster("NODES")
    return [member(address, line) for address, line in lines.items()]


def member(address: str, line: dict[str, Any]) -> Member:
    host, _, port = address.rpartition(":")
    ranges = tuple((int(bounds[0]), int(bounds[-1])) for bounds in line["slots"])
    return Member(
        (host, int(port)),
        line["node_id"],
        frozenset(line["flags"].split(",")),
        line["master_id"],
        ranges,
    )


def healthy(port: int, host: str = HOST) -> bool:
    """The node at `port` says the cluster is ok, with every slot assigned and served."""
    with ask(port, host) as client:
        info: dict[str, str] = client.cluster("INFO")
    return (
        info["cluster_state"] == "ok"
        and int(info["cluster_slots_assigned"]) == SLOTS
        and int(info["cluster_slots_ok"]) == SLOTS
    )


def in_sync(port: int) -> bool:
    """The node at `port` is a master, or a replica whose link to its master is up."""
    with ask(port) as client:
        role = client.role()
    return bool(role[0] == "master" or role[3] == "connected")


def cluster_url(addresses: list[Address]) -> str:
    return "redis+cluster://" + ",".join(f"{host}:{port}" for host, port in addresses) + "/0"


def cluster_addresses(url: str) -> list[Address]:
    """The nodes a cluster URL lists."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    pairs = [address.rpartition(":") for address in netloc.split(",")]
    return [(host, int(port)) for host, _, port in pairs]


def cluster_masters(url: str) -> list[Address]:
    """The masters that serve slots in the cluster at `url` now, as the first of its listed
    nodes that answers sees them (a listed master may have been killed and replaced)."""
    error: Exception | None = None
    for host, port in cluster_addresses(url):
        try:
            members = view(port, host)
        except redis.exceptions.ConnectionError as problem:
            error = problem
            continue
        return [m.address for m in members if m.role == "master" and m.slots and not m.failed]
    raise ConnectionError(f"no node of {url} answers") from error


def cluster_client(url: str) -> RedisCluster:
    """An asyncio cluster client (text answers) that starts from the nodes `url` lists."""
    nodes = [ClusterNode(host, port) for host, port in cluster_addresses(url)]
    return RedisCluster(startup_nodes=nodes, decode_responses=True)


def cluster_delete_prefix(prefix: str, url: str) -> int:
    """Remove every key under `prefix` from every master of the cluster at `url` (a SCAN of
    each, one UNLINK per key since the keys of a node may lie in different slots); how many
    keys there were. Plain blocking calls, so that a session's last sweep can use it too."""
    removed = 0
    for host, port in cluster_masters(url):
        with ask(port, host) as client:
            keys = list(client.scan_iter(match=prefix + "*", count=500))
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.unlink(key)
            pipe.execute()
            removed += len(keys)
    return removed
