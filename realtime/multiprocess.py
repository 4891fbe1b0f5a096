"""Where the metrics of several workers meet: the directory `maratang serve` gives them for
prometheus-client's multiprocess mode, and the files of workers that are gone."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "maratang-metrics-"
"""A run's own directory is `<temporary folder>/maratang-metrics-<serve's pid>-<random>`."""


def bury_dead_workers(directory: Path) -> None:
    """Drop the live gauges of workers that are gone (killed and replaced, say)."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        if not _alive(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


@contextlib.contextmanager
def multiprocess_directory(workers: int) -> Iterator[Path | None]:
    """Where the workers of one `maratang serve` write their metrics, set in the environment
    they inherit: for more than one worker, a new directory under the temporary folder,
    removed (and taken out of the environment) at exit; or the one `PROMETHEUS_MULTIPROC_DIR`
    names already, emptied at start-up and at exit. One worker with no such setting needs
    none (None)."""
    given = os.environ.get(MULTIPROC)
    if given is None and workers == 1:
        yield None
        return
    if not given:
        _sweep_orphans()
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    _empty(path)
    os.environ[MULTIPROC] = str(path)
    try:
        yield path
    finally:
        if given:
            _empty(path)
        else:
            del os.environ[MULTIPROC]
            shutil.rmtree(path, ignore_errors=True)


def _sweep_orphans() -> None:
    """Remove the directories of runs that are gone without removing theirs (killed)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        owner = path.name.removeprefix(PREFIX).partition("-")[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)


def _empty(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)
