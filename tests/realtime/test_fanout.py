"""Sockets that fall behind are caught up from the log: nothing lost, repeated or reordered."""

from __future__ import annotations

from tests.realtime.conftest import open_table, play_round
from tests.support.client import seqs
from tests.support.server import running_server


async def test_a_socket_whose_queue_overflows_catches_up_from_the_log() -> None:
    # A queue of 1 KiB (events may fill half of it): every burst of events overflows it.
    env = {"MARATANG_SEND_QUEUE_BYTES": "1024", "MARATANG_COALESCE_MS": "5"}
    with running_server("--fallback-tps", "2000", env=env) as server:
        table = await open_table(server, ["민지", "Alex", "서준"], rounds=2)
        await table.host.request("game.start")
        for number in (1, 2):
            await play_round(table, number)
        finales = [
            await s.client.wait_for(
                lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30
            )
            for s in table.seats
        ]
        assert all(f == finales[0] for f in finales)
        logs = [s.client.events(table.session) for s in table.seats]
        for log in logs:
            assert seqs(log) == list(range(log[0]["seq"], log[-1]["seq"] + 1))
        last = logs[0][-1]["seq"]
        assert all(log[-1]["seq"] == last for log in logs)
        tail = [m for m in logs[0] if m["seq"] >= logs[2][0]["seq"]]
        assert tail == logs[2]
