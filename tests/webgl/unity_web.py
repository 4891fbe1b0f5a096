"""What the tests of the Unity WebGL pieces share: headless Chromium as a hidden tab can be (no
switch that turns Chrome's background throttling off), and the WebGL bridge
(`MaratangWebSocket.jslib`) loaded on a page the way a Unity build links it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from tests.support.server import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--ignore-certificate-errors"]
THROTTLING_OFF = [
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
]
"""Switches Playwright adds by default; a browser without them throttles as players' do."""

JSLIB = ROOT / "webgl" / "unity" / "Plugins" / "WebGL" / "MaratangWebSocket.jslib"
PAGE_SCRIPTS = Path(__file__).parent / "bridge"
REMOVED_APIS = ("Pointer_stringify", "Runtime.dynCall", "dynCall_", "Module.dynCall")
DYNCALL = re.compile(
    r"\{\{\{\s*makeDynCall\(\s*'([vifd]+)'\s*,\s*'([^']+)'\s*\)\s*\}\}\}\(([^()]*)\)"
)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            ignore_default_args=THROTTLING_OFF,
        )
        try:
            yield browser
        finally:
            await browser.close()


def expand_macros(source: str) -> str:
    """Emscripten's preprocessing of a library: `{{{ makeDynCall('vii', 'f') }}}(a, b)` calls
    the function at table index `f` (Emscripten 3.1: `getWasmTableEntry(f)`). The signature
    must match the arguments, as the wasm side's would."""

    def call(match: re.Match[str]) -> str:
        signature, function, arguments = match.groups()
        count = len([a for a in arguments.split(",") if a.strip()])
        assert count == len(signature) - 1, f"{signature} called with {count} arguments"
        return f"getWasmTableEntry({function})({arguments})"

    expanded = DYNCALL.sub(call, source)
    assert "{{{" not in expanded, "a macro Emscripten would expand was left"
    return expanded


def linked_jslib() -> str:
    """The bridge as a page script: its file run in a scope of its own (so nothing of it leaks
    but what it hands the library), then linked as Emscripten links it."""
    source = JSLIB.read_text()
    code = re.sub(r"//.*", "", source)
    for name in REMOVED_APIS:
        assert name not in code, f"{name} is gone from current Unity versions"
    return f"(function () {{\n{expand_macros(source)}\n}})();\nlinkLibrary();\n"


def write_bridge_page(root: Path) -> str:
    """Writes a page that loads the bridge under `root`; returns its path on the site."""
    folder = root / "bridge"
    folder.mkdir(exist_ok=True)
    scripts = ["hidden.js", "emscripten.js", "MaratangWebSocket.js", "driver.js"]
    for name in ("hidden.js", "emscripten.js", "driver.js"):
        (folder / name).write_text((PAGE_SCRIPTS / name).read_text())
    (folder / "MaratangWebSocket.js").write_text(linked_jslib())
    tags = "".join(f'<script src="/bridge/{name}"></script>' for name in scripts)
    (root / "bridge.html").write_text(f"<!doctype html><title>bridge</title>{tags}")
    return "/bridge.html"
