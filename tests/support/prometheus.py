"""Runs a real Prometheus (the distribution's `prometheus`) on a free loopback port with a
throwaway configuration and storage, scraping the given targets every second; and asks it
questions through its HTTP API, as Grafana and an operator do."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.procs import free_port

PROMETHEUS_BIN = shutil.which("prometheus") or "/usr/bin/prometheus"
SCRAPE_INTERVAL = "1s"


@dataclass
class Prometheus:
    url: str
    log: Path

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` evaluates to now (`/api/v1/query`)."""
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.url}/api/v1/query", params={"query": expr})
        body = answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def value(self, expr: str) -> float | None:
        """The value of a query that gives one series (None while it gives none)."""
        result = await self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    async def until(self, expr: str, expected: float, timeout: float = 30) -> None:
        """Waits until `expr` gives `expected` (Prometheus scrapes on its own schedule)."""
        seen: float | None = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    seen = await self.value(expr)
                    if seen == expected:
                        return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"{expr} is {seen}, not {expected}") from None


def configuration(jobs: Mapping[str, Sequence[str]], rules: Sequence[Path]) -> str:
    """A Prometheus configuration (JSON is YAML) scraping each job's `host:port` targets."""
    return json.dumps(
        {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rules],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": list(targets)}]}
                for job, targets in jobs.items()
            ],
        },
        indent=2,
    )


@contextmanager
def running_prometheus(
    jobs: Mapping[str, Sequence[str]], folder: Path, rules: Sequence[Path] = (), timeout: float = 30
) -> Iterator[Prometheus]:
    """Prometheus with its configuration and storage in `folder`, scraping `jobs` (job name:
    `host:port` targets, `/metrics` each) every second and evaluating `rules`; stopped when
    the block ends."""
    config = folder / "prometheus.yml"
    config.write_text(configuration(jobs, rules))
    port = free_port()
    log = folder / "prometheus.log"
    command = [
        PROMETHEUS_BIN,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    prometheus = Prometheus(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_ready(prometheus, process, timeout)
        yield prometheus
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(
    prometheus: Prometheus, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{prometheus.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"prometheus did not start:\n{prometheus.log.read_text()}")
        time.sleep(0.1)  # polling a process we started; bounded by the deadline
