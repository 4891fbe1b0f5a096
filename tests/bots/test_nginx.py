"""The bots through the production nginx configuration: `https` sign-ins and `wss` sockets
with a self-signed certificate (`--insecure`), their address exempted from the limits in
nginx and in the server, as bots/README.md tells an operator to do."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.support.bots import running_bots
from tests.support.nginx import running_nginx
from tests.support.server import running_server

BOTS = "127.0.0.1"
TABLES, PLAYERS = 6, 4
"""24 sockets from one address opened at once: past nginx's 16 a address (and its 20 a second
burst) unless the address is exempt."""


async def test_the_bots_play_a_clean_run_over_wss_through_nginx(tmp_path: Path) -> None:
    env = {"MARATANG_COALESCE_MS": "20", "MARATANG_LIMIT_EXEMPT": BOTS}
    with (
        running_server("--fallback-tps", "400", env=env) as app,
        running_nginx(app.base_url, tmp_path, exempt=(BOTS,)) as site,
    ):
        url = f"https://{BOTS}:{urlsplit(site.https).port}"
        async with running_bots(
            url,
            tmp_path / "report",
            *("--tables", str(TABLES), "--players", str(PLAYERS), "--rounds", "2"),
            *("--seconds", "15", "--think", "1", "--insecure"),
        ) as bots:
            report = await bots.finished(60)
        assert bots.process.returncode == 0, "".join(bots.output)
    assert report["exit_code"] == 0
    assert report["tables"] == {"planned": TABLES, "finished": TABLES, "failed": 0}
    assert report["goodput"] == 1.0
    assert all(slo["held"] for slo in report["slos"].values()), report["slos"]
    assert report["errors"] == []
    profile = report["profiles"]["desktop"]
    assert (profile["lost"], profile["duplicated"], profile["reordered"]) == (0, 0, 0)
    assert profile["connect_ms"]["count"] == TABLES * PLAYERS, "a socket was refused or retried"
    assert profile["closes"] == {"1000": TABLES * PLAYERS}, "a socket did not end cleanly"
    assert profile["narration_mismatches"] == 0
