"""The production nginx configuration, run by real nginx (the distribution's package) in front
of a real `maratang serve`: TLS with a certificate the test makes, a fake Unity WebGL build
named and compressed as Unity names and compresses it, `/api`, `wss://…/ws`, the redirect to
HTTPS and the security headers on every path."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.client import Client
from tests.support.nginx import Site, running_nginx
from tests.support.server import Server, running_server

HASH = "0123456789abcdef0123456789abcdef"
SECURITY = {
    "strict-transport-security": "max-age=63072000",
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "strict-origin-when-cross-origin",
}
JS = b"function createUnityInstance() { return 1; }\n"
BUILD = {
    "index.html": b"<!doctype html><title>Maratang</title><script src='Build/Game.loader.js'>",
    "Build/Game.loader.js": JS,
    "Build/Game.framework.js.gz": gzip.compress(JS),
    "Build/Game.wasm.br": b"\x0b\x02\x80\x00asm\x01\x00\x00\x00\x03",  # stands for Brotli bytes
    "Build/Game.data.gz": gzip.compress(b"unity data"),
    f"Build/{HASH}.wasm.gz": gzip.compress(b"\x00asm\x01\x00\x00\x00"),
    "TemplateData/style.css": b"body { margin: 0 }",
    ".well-known/acme-challenge/token123": b"token123.thumbprint",
}


@pytest.fixture(scope="module")
def app() -> Iterator[Server]:
    with running_server("--fallback-tps", "400", env={"MARATANG_COALESCE_MS": "20"}) as server:
        yield server


@pytest.fixture(scope="module")
def site(app: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    prefix = tmp_path_factory.mktemp("nginx")
    write_build(prefix / "html")
    with running_nginx(app.base_url, prefix) as running:
        yield running


def write_build(root: Path) -> None:
    for name, content in BUILD.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@dataclass
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    """As sent: not decoded, whatever its Content-Encoding."""


def fetch(site: Site, path: str, base: str | None = None) -> Fetched:
    # identity: nothing is compressed on the fly, so what arrives is what is stored (Unity's
    # pre-compressed files keep the encoding of their names whatever the client asks)
    headers = {"accept-encoding": "identity"}
    with (
        httpx.Client(verify=site.tls, follow_redirects=False, headers=headers) as client,
        client.stream("GET", (base or site.https) + path) as response,
    ):
        return Fetched(response.status_code, response.headers, b"".join(response.iter_raw()))


def assert_secure(response: Fetched) -> None:
    for header, value in SECURITY.items():
        assert response.headers.get(header) == value, header
    assert "content-security-policy-report-only" in response.headers


@pytest.mark.parametrize(
    ("path", "content_type", "encoding", "cache"),
    [
        ("/", "text/html", None, "no-cache"),
        ("/index.html", "text/html", None, "no-cache"),
        ("/Build/Game.loader.js", "application/javascript", None, "no-cache"),
        ("/Build/Game.framework.js.gz", "application/javascript", "gzip", "no-cache"),
        ("/Build/Game.wasm.br", "application/wasm", "br", "no-cache"),
        ("/Build/Game.data.gz", "application/octet-stream", "gzip", "no-cache"),
        (
            f"/Build/{HASH}.wasm.gz",
            "application/wasm",
            "gzip",
            "public, max-age=31536000, immutable",
        ),
        ("/TemplateData/style.css", "text/css", None, "public, max-age=3600"),
    ],
)
def test_the_unity_build_is_served_with_the_headers_unity_needs(
    site: Site, path: str, content_type: str, encoding: str | None, cache: str
) -> None:
    response = fetch(site, path)
    assert response.status == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers.get("content-encoding") == encoding
    assert response.headers["cache-control"] == cache
    name = "index.html" if path == "/" else path.lstrip("/")
    assert response.body == BUILD[name]  # served as stored: never compressed again
    assert_secure(response)


def test_a_missing_build_file_is_a_404_not_the_page(site: Site) -> None:
    response = fetch(site, "/Build/Missing.framework.js.gz")
    assert response.status == 404
    assert b"createUnityInstance" not in response.body
    assert_secure(response)


def test_the_api_is_proxied(site: Site) -> None:
    response = fetch(site, "/api/catalog")
    assert response.status == 200
    assert len(orjson.loads(response.body)["ingredients"]) == 24
    assert_secure(response)


def test_the_metrics_and_the_table_inspector_are_not_exposed(app: Server, site: Site) -> None:
    assert "maratang_sockets_open" in httpx.get(f"{app.base_url}/metrics").text  # the app's own
    (site.root / "metrics").write_text("maratang_sockets_open 1")  # not even a file of that name
    (site.root / "admin").mkdir()
    (site.root / "admin" / "index.html").write_text("<title>inspector</title>")
    for path in ("/metrics", "/admin", "/admin/", "/admin/api/tables"):
        response = fetch(site, path)
        assert response.status == 404, path
        assert b"maratang_" not in response.body
        assert b"inspector" not in response.body
        assert_secure(response)


def test_plain_http_redirects_to_https_but_serves_the_acme_challenge(site: Site) -> None:
    moved = fetch(site, "/Build/Game.loader.js", base=site.http)
    assert moved.status == 301
    assert moved.headers["location"] == "https://localhost/Build/Game.loader.js"
    assert_secure(moved)
    challenge = fetch(site, "/.well-known/acme-challenge/token123", base=site.http)
    assert challenge.status == 200
    assert challenge.body == b"token123.thumbprint"
    assert_secure(challenge)


async def test_a_round_is_played_over_wss_through_nginx(site: Site) -> None:
    async with httpx.AsyncClient(verify=site.tls) as http:
        answer = await http.post(site.https + "/api/auth/guest", json={"name": "민지"})
    token = answer.json()["token"]
    ws_url = site.https.replace("https://", "wss://") + "/ws"
    client = await Client.hello(ws_url, token, tls=site.tls)
    try:
        ack = await client.request("session.create", settings={"rounds": 1, "seconds": 60})
        assert ack["t"] == "ack"
        assert (await client.request("game.start"))["t"] == "ack"
        await client.wait_for(lambda m: m["t"] == "round.started", 10)
        submitted = await client.request(
            "bowl.submit", round=1, ingredients=["bok_choy", "enoki", "beef"], spice=1
        )
        assert submitted["t"] == "ack"
        resolved = await client.wait_for(lambda m: m["t"] == "round.resolved", 20)
        assert resolved["results"][0]["score"] > 0
        over = await client.wait_for(lambda m: m["t"] == "game.over", 20)
        assert over["ranking"][0]["name"] == "민지"
    finally:
        await asyncio.wait_for(client.close(), 5)
