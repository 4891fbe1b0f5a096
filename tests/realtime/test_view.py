"""The reference reducer (`protocol/reducer.py`) on a live game: a client that applies every
event to its first `sync` holds the same table the server shows in a fresh `sync`, mid-stream
and at the end, on both codecs."""

from __future__ import annotations

from tests.realtime.conftest import Seat, Table, open_table, play_round
from tests.support.client import Client, Message, without_nulls
from tests.support.server import Server

AHEAD = 10**9
"""A `seq` ahead of the server's: the resume answers with a fresh `sync`."""


async def fresh_sync(server: Server, table: Table, seat: Seat) -> Message:
    other = await Client.hello(server.ws_url, seat.token, resume=(table.session, AHEAD))
    try:
        return await other.wait_for(lambda m: m["t"] == "sync")
    finally:
        await other.close()


async def assert_views_match(server: Server, table: Table) -> None:
    for seat in table.seats:
        sync = await fresh_sync(server, table, seat)
        await seat.client.caught_up(table.session, sync["seq"])
        kept = seat.client.view(table.session, seat.player["id"], upto=sync["seq"])
        assert without_nulls(kept) == without_nulls(sync["state"]), seat.player["name"]


async def test_a_kept_view_matches_the_servers_through_a_whole_game(server: Server) -> None:
    table = await open_table(server, ["민지", "Alex", "준"], rounds=2)
    await table.host.request("game.start")
    first = table.seats[0].client
    await first.wait_for(lambda m: m["t"] == "narration.delta")
    await assert_views_match(server, table)  # mid-entrance: the lane's text so far
    for number in (1, 2):
        await play_round(table, number)
        await first.wait_for(lambda m: m["t"] == "round.resolved" and m["round"] == number)  # noqa: B023
        await assert_views_match(server, table)
    for seat in table.seats:
        await seat.client.wait_for(lambda m: m["t"] == "narration.end" and m["nid"] == "finale")
    await assert_views_match(server, table)
    over = table.seats[1].client.view(table.session, table.seats[1].player["id"])
    assert over["phase"] == "over"
    assert over["narration"]["nid"] == "finale"
    assert over["narration"]["source"]
    assert over["bowl"] == table.seats[1].client.bowls[2]
