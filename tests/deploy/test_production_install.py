"""The wheel as an operator installs it: built from the source tree, installed without the dev
extras into a clean virtualenv, and run from there, outside the checkout, against the real
PostgreSQL and Redis. The development install carries more packages than the wheel declares;
only a plain install shows a dependency the product needs but does not declare."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.realtime.conftest import open_table, play_round
from tests.support.client import Client
from tests.support.postgres import (
    RECORD_TABLES,
    count,
    create_database,
    database_url,
    drop_database,
)
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import ROOT, running_server

NOT_SHIPPED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "tests",
    "bench",
    "docs",
    "node_modules",
)
"""What the wheel is not built from: local environments, caches, build output, and the parts
of the repository that are not the product."""
DEV_ONLY = ("pytest", "mypy", "hypothesis")
"""Packages of the dev extras alone: a plain install has none of them."""
INSTALLED = {"PYTHONPATH": ""}
"""The installed program's environment adds nothing to its import path (an empty
PYTHONPATH counts as unset)."""
WHERE_FROM = """
import importlib.util, json, sys
import realtime.cli
print(json.dumps({
    "cli": realtime.cli.__file__,
    "present": [name for name in sys.argv[1:] if importlib.util.find_spec(name) is not None],
}))
"""
"""Run by an interpreter: where its `maratang` comes from, and which of the packages named as
arguments it can import."""
WORD_LISTS = "from llm.lexicon import Lexicon; print(Lexicon.load().find('씨발 fuck'))"
"""Run by an interpreter: the narration word filter with the word lists the package carries."""
ADMIN_TOKEN = "a-token-for-the-table-inspector-of-this-test"
SERVE_ENV = {
    "MARATANG_ADMIN_TOKEN": ADMIN_TOKEN,
    "MARATANG_FALLBACK_TPS": "400",
    "MARATANG_COALESCE_MS": "20",
    "MARATANG_SNAPSHOT_SECONDS": "0.2",
}


def run(*command: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A command run to its end; its output kept for the assertion that checks it."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **INSTALLED},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def build_output(root: Path) -> dict[str, int]:
    """Every path a wheel build leaves at the top of `root` (build/, dist/, *.egg-info), with
    its modification time: equal before and after a build when it wrote nothing there."""
    tops = [root / "build", root / "dist", *root.glob("*.egg-info")]
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for top in tops
        if top.exists()
        for path in [top, *top.rglob("*")]
    }


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A clean virtualenv with the project's wheel installed, without extras; its folder."""
    before = build_output(ROOT)
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    wheels = tmp_path / "wheels"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, source, cwd=tmp_path
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert build_output(ROOT) == before, "building the wheel wrote into the checkout"
    [wheel] = wheels.glob("maratang-*.whl")

    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    pip = (venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q")
    done = run(*pip, wheel, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A throwaway, empty database; its name."""
    name = await create_database()
    try:
        yield name
    finally:
        await drop_database(name)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A throwaway Redis key prefix, emptied afterwards."""
    name = throwaway_prefix()
    try:
        yield name
    finally:
        await delete_prefix(name)


def where_from(venv: Path, cwd: Path) -> dict[str, Any]:
    """`WHERE_FROM`'s answer for the virtualenv's interpreter run in `cwd`."""
    result = run(venv / "bin" / "python", "-c", WHERE_FROM, *DEV_ONLY, cwd=cwd, timeout=30)
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


async def keys_under(prefix: str) -> int:
    """How many Redis keys are under `prefix`: the live tables the server keeps there."""
    client = Redis.from_url(REDIS_URL)
    try:
        return len([key async for key in client.scan_iter(match=prefix + "*", count=500)])
    finally:
        await client.aclose()


async def finished_record(base_url: str, game: str, timeout: float = 20) -> dict[str, Any]:
    """The game's record once it is complete (records are written behind the game)."""
    async with httpx.AsyncClient(base_url=base_url) as http, asyncio.timeout(timeout):
        while True:
            answer = await http.get(f"/api/games/{game}")
            if answer.status_code == 200 and answer.json()["finale"] is not None:
                return dict(answer.json())
            await asyncio.sleep(0.05)  # polling a process we do not control; bounded above


async def inspector_files(base_url: str) -> list[int]:
    """The statuses of the table inspector's page, script, style (with the token, as a
    browser sends it) and API (as a script sends it): files the installed package must
    carry beside its code."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        paths = ("/admin", "/admin/inspector.js", "/admin/inspector.css")
        answers = [await http.get(path, auth=("operator", ADMIN_TOKEN)) for path in paths]
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        answers.append(await http.get("/admin/api/games", headers=bearer))
    return [answer.status_code for answer in answers]


@pytest.mark.timeout(600)
async def test_a_plain_install_migrates_serves_and_plays_a_round(
    installed: Path, database: str, prefix: str, tmp_path: Path
) -> None:
    """Everything an operator runs after `pip install maratang` works from the installed
    package alone: the migration (which needs the async database driver's own dependencies),
    the server on Redis and PostgreSQL, a round played through it, and its record read back."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = where_from(installed, elsewhere)
    assert found["present"] == [], "the dev extras are installed: not a plain install"
    assert Path(found["cli"]).is_relative_to(installed), found["cli"]
    maratang = installed / "bin" / "maratang"
    assert maratang.read_text().startswith(f"#!{installed / 'bin' / 'python'}")
    words = run(installed / "bin" / "python", "-c", WORD_LISTS, cwd=elsewhere, timeout=30)
    assert words.stdout.strip() == "시발", "the word lists are not in the package: " + words.stderr

    url = database_url(database)
    migrated = run(maratang, "migrate", "--database-url", url, cwd=elsewhere, timeout=60)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "the schema is at head" in migrated.stdout
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)"
    assert await count(url, tables, list(RECORD_TABLES)) == len(RECORD_TABLES)

    flags = ("--database-url", url, "--engine", REDIS_URL)
    env = {**SERVE_ENV, **INSTALLED, "MARATANG_REDIS_PREFIX": prefix}
    with running_server(*flags, env=env, program=[str(maratang)], cwd=elsewhere) as server:
        try:
            assert f"keys under {prefix!r}" in "".join(server.output)
            table = await open_table(server, ["민지", "Alex"], rounds=1)
            assert (await table.host.request("game.start"))["t"] == "ack"
            await play_round(table, 1)
            resolved = await table.host.wait_for(lambda m: m["t"] == "round.resolved", 30)
            over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
            assert resolved["round"] == 1
            assert await keys_under(prefix) > 0
            record = await finished_record(server.base_url, over["game"])
            inspector = await inspector_files(server.base_url)
        finally:
            await Client.close_all()
    assert record["id"] == over["game"]
    assert [entry["round"] for entry in record["rounds"]] == [1]
    assert {player["name"] for player in record["players"]} == {"민지", "Alex"}
    assert record["ranking"] == over["ranking"]
    assert inspector == [200, 200, 200, 200], "the table inspector is not in the package"
