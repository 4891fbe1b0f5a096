"""The Unity WebGL template (`webgl/template/`), filled in as Unity fills it at build time and
served by the production nginx configuration with a stand-in build (named by hash and
gzip-compressed, as Unity writes it): the page loads the loader, the loader finds every build
file where the template says, the progress bar moves to the end, the fullscreen button works,
and the page fetches nothing from anywhere else."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.nginx import Site, running_nginx
from tests.support.server import ROOT
from tests.webgl.unity_web import chromium

TEMPLATE = ROOT / "webgl" / "template"
TAG = re.compile(r"\{\{\{\s*(.+?)\s*\}\}\}")
HASH = "0123456789abcdef0123456789abcde"
VARIABLES = {
    "PRODUCT_NAME": "마라탕 Maratang",
    "COMPANY_NAME": "Maratang",
    "PRODUCT_VERSION": "1.0",
    "LOADER_FILENAME": f"{HASH}0.loader.js",
    "FRAMEWORK_FILENAME": f"{HASH}1.framework.js.gz",
    "CODE_FILENAME": f"{HASH}2.wasm.gz",
    "DATA_FILENAME": f"{HASH}3.data.gz",
}
BUILD_FILES = {"frameworkUrl": "framework", "codeUrl": "code", "dataUrl": "data"}
LOADER = """
function createUnityInstance(canvas, config, onProgress) {
  const bar = document.getElementById("maratang-progress-fill");
  window.loading = { config, fetched: {}, bar: [] };
  const report = (progress) => { onProgress(progress); window.loading.bar.push(bar.style.width); };
  const files = ["frameworkUrl", "codeUrl", "dataUrl"];
  let done = 0;
  report(0.05);
  return Promise.all(files.map(async (key) => {
    const answer = await fetch(config[key]);
    window.loading.fetched[key] = { status: answer.status, text: await answer.text() };
    report(0.05 + 0.9 * (++done / files.length));
  })).then(() => {
    report(1);
    return { SetFullscreen: (on) => { window.loading.fullscreen = on; } };
  });
}
"""


def fill_in(template: str) -> str:
    """What Unity's template preprocessor does with `{{{ NAME }}}` and
    `{{{ JSON.stringify(NAME) }}}` (the only expressions the template uses)."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        quoted = re.fullmatch(r"JSON\.stringify\((\w+)\)", expression)
        if quoted:
            return json.dumps(VARIABLES[quoted.group(1)], ensure_ascii=False)
        assert expression in VARIABLES, f"a tag Unity would not fill: {expression}"
        return VARIABLES[expression]

    return TAG.sub(value, template)


def write_site(root: Path) -> None:
    shutil.copytree(TEMPLATE / "TemplateData", root / "TemplateData")
    (root / "index.html").write_text(fill_in((TEMPLATE / "index.html").read_text()))
    build = root / "Build"
    build.mkdir()
    (build / VARIABLES["LOADER_FILENAME"]).write_text(LOADER)
    for key, name in BUILD_FILES.items():
        filename = VARIABLES[f"{key.removesuffix('Url').upper()}_FILENAME"]
        (build / filename).write_bytes(gzip.compress(name.encode()))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    prefix = tmp_path_factory.mktemp("nginx")
    write_site(prefix / "html")
    with running_nginx("http://127.0.0.1:9", prefix) as up:  # the page needs no app
        yield up


@pytest.fixture
async def page(site: Site) -> AsyncIterator[Page]:
    async with chromium() as browser:
        context = await browser.new_context(ignore_https_errors=True)
        context.set_default_timeout(10_000)
        yield await context.new_page()


async def test_the_template_loads_the_build_through_nginx_with_a_moving_progress_bar(
    site: Site, page: Page
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    await page.goto(site.https + "/")
    await page.wait_for_function("window.loading && window.loading.bar.at(-1) === '100%'")
    loading = await page.evaluate("window.loading")

    assert await page.title() == VARIABLES["PRODUCT_NAME"]
    assert loading["config"]["productName"] == VARIABLES["PRODUCT_NAME"]
    for key, content in BUILD_FILES.items():  # where the template says; gzip undone by the browser
        assert loading["fetched"][key] == {"status": 200, "text": content}
    widths = [float(width.removesuffix("%")) for width in loading["bar"]]
    assert widths == sorted(widths)
    assert widths[0] < 50 < widths[-1] == 100
    await page.locator("#maratang-loading").wait_for(state="hidden")
    await page.locator("#maratang-fullscreen").click()
    assert await page.evaluate("window.loading.fullscreen") == 1
    assert all(url.startswith(site.https) for url in requests), requests
    assert not errors
