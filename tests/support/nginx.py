"""Runs the production nginx configuration (`deploy/nginx/`) with the distribution's nginx, in
front of an app at a given address: the site template rendered as the nginx image renders it,
a self-signed certificate for `localhost`, the WebGL build served from a folder the test fills."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.procs import wait_for_port
from tests.support.server import ROOT

NGINX = ROOT / "deploy" / "nginx"
NGINX_BIN = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Site:
    https: str
    http: str
    tls: ssl.SSLContext
    root: Path
    """The folder served as the WebGL build (index.html, Build/, TemplateData/)."""

    @property
    def wss(self) -> str:
        return self.https.replace("https://", "wss://") + "/ws"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render(template: str, values: dict[str, str]) -> str:
    """What the nginx image does at start (envsubst of the variables it is given)."""
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def hubs_upstream(app_urls: Sequence[str]) -> str:
    """`deploy/nginx/hubs/hubs.conf.example` with its servers replaced by `app_urls`, as an
    operator fills it in."""
    example = (NGINX / "hubs" / "hubs.conf.example").read_text()
    servers = "".join(
        f"    server {urlsplit(url).netloc} max_fails=1 fail_timeout=5s;\n" for url in app_urls
    )
    filled, count = re.subn(r"(    server [^\n]*\n)+", servers, example)
    assert count == 1, "the example's server lines were not found"
    return filled


@contextmanager
def running_nginx(
    app_url: str | Sequence[str], prefix: Path, exempt: tuple[str, ...] = ()
) -> Iterator[Site]:
    """nginx in `prefix` proxying `/api` and `/ws` to `app_url` (several: the hubs' upstream
    of `deploy/nginx/hubs/`), serving `prefix/html`; the `exempt` addresses are listed in its
    limit exemptions, as an operator lists them."""
    (prefix / "conf.d").mkdir()
    (prefix / "hubs").mkdir()
    if not isinstance(app_url, str):
        (prefix / "hubs" / "hubs.conf").write_text(hubs_upstream(app_url))
        app_url = "http://maratang_hubs"
    (prefix / "html").mkdir(exist_ok=True)
    shutil.copy(NGINX / "nginx.conf", prefix / "nginx.conf")
    shutil.copytree(NGINX / "snippets", prefix / "snippets")
    with (prefix / "snippets" / "limit-exempt.conf").open("a") as exemptions:
        exemptions.writelines(f"{address} 1;\n" for address in exempt)
    shutil.copy("/etc/nginx/mime.types", prefix / "mime.types")
    cert, key = make_certificate(prefix)
    http_port, https_port = free_port(), free_port()
    values = {
        "MARATANG_DOMAIN": "localhost",
        "MARATANG_APP": app_url,
        "NGINX_RESOLVER": "127.0.0.1",
        "TLS_CERTIFICATE": str(cert),
        "TLS_CERTIFICATE_KEY": str(key),
        "WEBGL_ROOT": str(prefix / "html"),
        "ACME_ROOT": str(prefix / "html"),
        "NGINX_HTTP_PORT": str(http_port),
        "NGINX_HTTPS_PORT": str(https_port),
    }
    template = (NGINX / "templates" / "maratang.conf.template").read_text()
    rendered = render(template, values)
    assert not re.search(r"\$\{[A-Z_]+\}", rendered), "a template variable was left"
    (prefix / "conf.d" / "maratang.conf").write_text(rendered)
    extra = f"daemon off; pid {prefix}/nginx.pid; error_log {prefix}/error.log info;"
    if os.geteuid() == 0:
        extra += " user root;"  # workers must read the test's private folder
    command = [NGINX_BIN, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", extra]
    checked = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(nginx, https_port, "nginx", 10)
        tls = ssl.create_default_context(cafile=str(cert))
        yield Site(
            f"https://localhost:{https_port}", f"http://localhost:{http_port}", tls, prefix / "html"
        )
    finally:
        nginx.terminate()
        nginx.wait(10)
