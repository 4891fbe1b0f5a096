"""The exporters of the monitoring profile (redis_exporter, postgres_exporter, node_exporter),
run from Debian's packages on free loopback ports, configured as docker-compose.prod.yml
configures their images, but pointed at the tests' Redis and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx

from bench.procs import free_port, stop, wait_for_port


@contextmanager
def running_exporter(
    program: str, flags: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """`program` with `flags` and `env`, listening on a free port; yields its `host:port`."""
    port = free_port()
    process = subprocess.Popen(
        [program, *flags, f"--web.listen-address=127.0.0.1:{port}"],
        env={"PATH": os.environ["PATH"], **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(process, port, program, 10)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process, 10)


def scrape(target: str) -> str:
    """The /metrics answer of the part at `host:port`."""
    answer = httpx.get(f"http://{target}/metrics", timeout=10)
    answer.raise_for_status()
    return answer.text
