"""The Redis the tests use, and throwaway key prefixes on it."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis.exceptions
from redis import Redis as SyncRedis

from storage.redis import RedisEngine

REDIS_URL = os.environ.get("MARATANG_TEST_REDIS", "redis://127.0.0.1:6379/0")


PREFIXES: list[str] = []
"""Every throwaway prefix made in this test run, swept once more when the run ends."""


def throwaway_prefix() -> str:
    prefix = f"test:{secrets.token_hex(4)}:"
    PREFIXES.append(prefix)
    return prefix


def sweep_prefixes(url: str = REDIS_URL) -> int:
    """Remove what is left under this run's prefixes: a server process can still write a
    presence mark between a test's own cleanup and its stop. How many keys there were."""
    client = SyncRedis.from_url(url)
    try:
        keys = [
            key for prefix in PREFIXES for key in client.scan_iter(match=prefix + "*", count=500)
        ]
        if keys:
            client.delete(*keys)
        return len(keys)
    except redis.exceptions.ConnectionError:
        return 0  # no Redis was used in this run
    finally:
        client.close()


async def delete_prefix(prefix: str, url: str = REDIS_URL) -> int:
    """Remove every key under `prefix` (on every master of a Cluster); how many there were."""
    client = RedisEngine.from_url(url).client
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
        for key in keys:  # one by one: on a Cluster they live on different shards
            await client.delete(key)
        return len(keys)
    finally:
        await client.aclose()


class PrivateRedis:
    """A Redis server of the test's own, with AOF persistence (an fsync per write) unless
    `appendonly` is False, that the test may kill."""

    def __init__(
        self,
        directory: Path,
        password: str | None = None,
        appendonly: bool = True,
        replica_of: PrivateRedis | None = None,
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.appendonly = appendonly
        self.replica_of = replica_of
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        user = f"default:{self.password}@" if self.password else ""
        return f"redis://{user}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--repl-diskless-sync-delay",  # a replica of it syncs at once
            "0",
            "--daemonize",
            "no",
            "--logfile",
            str(self.directory / "redis.log"),
            *(("--requirepass", self.password) if self.password else ()),
            *(("--replicaof", "127.0.0.1", str(self.replica_of.port)) if self.replica_of else ()),
        ]
        self.process = subprocess.Popen(command)
        client = SyncRedis(port=self.port, password=self.password, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)  # polling a server we started; bounded by the deadline
        finally:
            client.close()

    def pause(self) -> None:
        """Stop the server's process (SIGSTOP) until `resume`: it answers nothing meanwhile."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
