"""Whole games over a real server, as real clients see them."""

from __future__ import annotations

from tests.realtime.conftest import Table, open_table, play_round
from tests.support.client import seqs
from tests.support.server import Server


async def test_two_players_play_a_full_game_and_see_the_same_log(pair: Table) -> None:
    host = pair.host
    assert (await host.request("game.start"))["t"] == "ack"
    for number in (1, 2):
        await play_round(pair, number)
    overs = [await s.client.wait_for(lambda m: m["t"] == "game.over", 30) for s in pair.seats]
    finales = [
        await s.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale", 30)
        for s in pair.seats
    ]
    assert overs[0] == overs[1]
    ranking = overs[0]["ranking"]
    assert {r["name"] for r in ranking} == {"민지", "Alex"}
    assert finales[0]["source"] == "fallback"
    assert "배웅" in finales[0]["text"]  # the finale is told in Korean by default

    logs = [s.client.events(pair.session) for s in pair.seats]
    # Alex joined after the table was made: his log starts where his sync left off.
    syncs = [
        s.client.received[[m["t"] for m in s.client.received].index("sync")] for s in pair.seats
    ]
    for log, sync in zip(logs, syncs, strict=True):
        assert seqs(log) == list(range(sync["seq"] + 1, sync["seq"] + 1 + len(log)))
    shared = min(seqs(logs[1]))
    assert [m for m in logs[0] if m["seq"] >= shared] == logs[1]


async def test_round_results_match_the_totals_and_the_ranking(pair: Table) -> None:
    await pair.host.request("game.start")
    totals: dict[str, int] = {}
    for number in (1, 2):
        await play_round(pair, number)
        resolved = await pair.host.wait_for(lambda m: m["t"] == "round.resolved", 30)
        assert resolved["round"] == number
        for result in resolved["results"]:
            totals[result["player"]] = totals.get(result["player"], 0) + result["score"]
            assert sum(p["points"] for p in result["breakdown"]) == result["score"]
        assert resolved["totals"] == totals
    over = await pair.host.wait_for(lambda m: m["t"] == "game.over", 30)
    assert {r["player"]: r["total"] for r in over["ranking"]} == totals


async def test_narration_deltas_add_up_to_the_ended_text(pair: Table) -> None:
    await pair.host.request("game.start")
    end = await pair.host.wait_for(lambda m: m["t"] == "narration.end", 30)
    deltas = [
        m["text"]
        for m in pair.host.events(pair.session)
        if m["t"] == "narration.delta" and m["nid"] == end["nid"]
    ]
    assert len(deltas) > 1
    assert "".join(deltas) == end["text"]
    assert end["nid"] == "r1.entrance"


async def test_a_table_in_english_is_narrated_in_english(server: Server) -> None:
    table = await open_table(server, ["Kim"], rounds=1)
    await table.host.request("session.settings", lang="en")
    await table.host.request("game.start")
    end = await table.host.wait_for(lambda m: m["t"] == "narration.end", 30)
    assert end["text"].startswith("The bell jingles")


async def test_a_round_closes_at_its_deadline_without_all_bowls(server: Server) -> None:
    table = await open_table(server, ["느긋한", "손님"], rounds=1, seconds=15)
    await table.host.request("game.start")
    started = await table.host.wait_for(lambda m: m["t"] == "round.started")
    await table.host.request("bowl.submit", round=1, ingredients=["beef", "lamb", "squid"], spice=3)
    resolved = await table.host.wait_for(lambda m: m["t"] == "round.resolved", 25)
    late = table.host.arrived_at(resolved) - started["deadline"] / 1000
    assert 0 <= late < 2, f"the round closed {late:.3f} s after its deadline"
    missing = [r for r in resolved["results"] if "bowl" not in r]
    assert len(missing) == 1
    assert missing[0]["score"] == 0
    assert resolved["results"][-1] == missing[0]
