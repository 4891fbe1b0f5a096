"""Runs `maratang bots` as a real process against a server, for end-to-end tests, and reads
the report it writes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tests.support.server import CHECKOUT_PROGRAM, ROOT

Report = dict[str, Any]


@dataclass
class Bots:
    """A `maratang bots` run in progress."""

    process: asyncio.subprocess.Process
    folder: Path
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def finished(self, timeout: float) -> Report:
        """Its report, once it has exited (within `timeout` seconds) and written it."""
        try:
            async with asyncio.timeout(timeout):
                await self.process.wait()
        except TimeoutError:
            await self.stop()
            raise AssertionError("the bots did not finish:\n" + "".join(self.output)) from None
        if self.reader is not None:
            await self.reader
        path = self.folder / "report.json"
        assert path.exists(), "no report was written:\n" + "".join(self.output)
        report: Report = orjson.loads(path.read_bytes())
        return report

    async def stop(self) -> None:
        """Kill the bots and their bot processes, if they still run."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


@asynccontextmanager
async def running_bots(url: str, folder: Path, *flags: str) -> AsyncIterator[Bots]:
    """`maratang bots --url url --report folder …flags`, its output kept (and printed at the
    end, which pytest shows on failure); killed if it still runs when the block ends."""
    bots = await _start(url, folder, *flags)
    try:
        yield bots
    finally:
        await bots.stop()
        if bots.reader is not None:
            await asyncio.wait_for(bots.reader, 5)


async def _start(url: str, folder: Path, *flags: str) -> Bots:
    process = await asyncio.create_subprocess_exec(
        *CHECKOUT_PROGRAM,
        "bots",
        "--url",
        url,
        "--report",
        str(folder),
        *flags,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its bot processes share its process group, stopped together
    )
    bots = Bots(process, folder)
    bots.reader = asyncio.create_task(_pump(bots))
    return bots


async def _pump(bots: Bots) -> None:
    assert bots.process.stdout is not None
    async for line in bots.process.stdout:
        bots.output.append(line.decode(errors="replace"))
    print("--- bots output ---\n" + "".join(bots.output))
