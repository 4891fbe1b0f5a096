"""Dropped sockets: resume from `seq`, the grace period, and syncs when history is gone."""

from __future__ import annotations

from protocol.codec import MSGPACK_SUBPROTOCOL
from tests.realtime.conftest import BOWLS, open_table
from tests.support.client import Client, seqs
from tests.support.server import Server, running_server


async def test_a_dropped_player_resumes_mid_narration_with_nothing_missing_or_repeated() -> None:
    # A slow narrator, so the socket drops while the entrance is still being told.
    with running_server("--fallback-tps", "40", env={"MARATANG_COALESCE_MS": "20"}) as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        alex = table.seats[1]
        await table.host.request("game.start")
        await alex.client.wait_for(lambda m: m["t"] == "narration.delta")
        before = alex.client.events(table.session)
        last = before[-1]["seq"]
        await alex.client.drop()

        away = await table.host.wait_for(lambda m: m["t"] == "player.away")
        assert away["player"] == alex.player["id"]
        # The narration goes on while Alex is gone.
        await table.host.wait_for(lambda m: m["t"] == "narration.delta" and m["seq"] > away["seq"])

        back = await Client.hello(
            server.ws_url, alex.token, MSGPACK_SUBPROTOCOL, resume=(table.session, last)
        )
        welcome = back.received[0]
        assert welcome["t"] == "welcome"
        assert welcome["session"] == table.session
        end = await back.wait_for(lambda m: m["t"] == "narration.end", 30)
        after = back.events(table.session)
        assert not any(m["t"] == "sync" for m in back.received)
        assert seqs(before + after) == list(range(before[0]["seq"], after[-1]["seq"] + 1))
        told = "".join(
            m["text"]
            for m in before + after
            if m["t"] == "narration.delta" and m["nid"] == end["nid"]
        )
        assert told == end["text"]
        assert any(m["t"] == "player.back" for m in after)

        # The game goes on to the end with the resumed socket.
        await back.request("bowl.submit", round=1, ingredients=BOWLS[1], spice=1)
        await table.host.request("bowl.submit", round=1, ingredients=BOWLS[0], spice=2)
        over = await back.wait_for(lambda m: m["t"] == "game.over", 30)
        host_over = await table.host.wait_for(lambda m: m["t"] == "game.over", 30)
        assert over == host_over
        host_log = table.host.events(table.session)
        alex_log = before + back.events(table.session)
        assert [m for m in host_log if m["seq"] >= alex_log[0]["seq"]][: len(alex_log)] == alex_log


async def test_resume_past_the_history_gets_a_fresh_sync() -> None:
    env = {"MARATANG_COALESCE_MS": "20", "MARATANG_HISTORY": "5"}
    with running_server("--fallback-tps", "400", env=env) as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        alex = table.seats[1]
        await alex.client.close()
        await table.host.request("game.start")
        await table.host.wait_for(lambda m: m["t"] == "narration.end", 30)
        back = await Client.hello(server.ws_url, alex.token, resume=(table.session, 1))
        sync = await back.wait_for(lambda m: m["t"] == "sync")
        assert sync["state"]["phase"] == "picking"
        assert sync["state"]["narration"]["source"] == "fallback"
        assert sync["seq"] >= table.host.events(table.session)[-1]["seq"] - 1


async def test_resume_of_a_table_the_player_is_not_at_welcomes_without_a_session(
    server: Server,
) -> None:
    table = await open_table(server, ["민지"], rounds=1)
    stranger = await open_table(server, ["Stranger"], rounds=1)
    token = stranger.seats[0].token
    other = await Client.hello(server.ws_url, token, resume=(table.session, 0))
    assert "session" not in other.received[0]
    nowhere = await Client.hello(server.ws_url, token, resume=("s_nosuchtable", 3))
    assert "session" not in nowhere.received[0]


async def test_an_away_player_loses_the_seat_after_the_grace_period() -> None:
    with running_server("--fallback-tps", "400", "--grace-seconds", "0.5") as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        alex = table.seats[1]
        await alex.client.drop()
        away = await table.host.wait_for(lambda m: m["t"] == "player.away")
        left = await table.host.wait_for(lambda m: m["t"] == "player.left", 10)
        assert left["player"] == away["player"] == alex.player["id"]
        assert left["reason"] == "timeout"
        late = await Client.hello(server.ws_url, alex.token, resume=(table.session, left["seq"]))
        assert "session" not in late.received[0]


async def test_a_second_socket_of_the_same_player_keeps_them_present(server: Server) -> None:
    table = await open_table(server, ["민지", "Alex"], rounds=1)
    alex = table.seats[1]
    last = alex.client.received[-1].get("seq", 0)
    twin = await Client.hello(server.ws_url, alex.token, resume=(table.session, last))
    await alex.client.close()
    await table.host.request("game.start")
    await twin.wait_for(lambda m: m["t"] == "round.started")
    assert not any(m["t"] == "player.away" for m in table.host.received)


async def test_leaving_on_one_socket_takes_the_players_other_sockets_away_too(
    server: Server,
) -> None:
    table = await open_table(server, ["민지", "Alex"], rounds=1)
    alex = table.seats[1]
    twin = await Client.hello(server.ws_url, alex.token, resume=(table.session, 0))
    await twin.wait_for(
        lambda m: m["t"] == "player.joined" and m["player"]["id"] == alex.player["id"]
    )
    assert (await alex.client.request("session.leave"))["t"] == "ack"
    left = await twin.wait_for(lambda m: m["t"] == "player.left")
    assert left["player"] == alex.player["id"]
    await table.host.request("session.settings", rounds=3)
    changed = await table.host.wait_for(lambda m: m["t"] == "settings.changed")
    await twin.send({"t": "ping", "ts": 1})
    await twin.wait_for(lambda m: m["t"] == "pong")
    assert not any(m.get("seq", 0) >= changed["seq"] for m in twin.events(table.session))
    assert (await twin.request("game.start"))["code"] == "not_in_session"


async def test_the_last_player_leaving_closes_the_table(server: Server) -> None:
    table = await open_table(server, ["민지"], rounds=1)
    other = await open_table(server, ["Alex"], rounds=1)
    assert (await table.host.request("session.leave"))["t"] == "ack"
    error = await other.host.request("session.join", code=table.code)
    assert error["code"] == "session_not_found"


async def test_a_server_shutting_down_says_bye_and_closes_for_resume() -> None:
    with running_server("--fallback-tps", "400") as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        lobby = await Client.hello(server.ws_url, table.seats[1].token)  # a socket with no table
        server.process.terminate()
        for client in (table.host, lobby):
            bye = await client.wait_for(lambda m: m["t"] == "bye")
            assert (bye["reason"], bye["retry_ms"]) == ("shutdown", 1000)
            assert (await client.closed)[0] == 1012


async def test_a_socket_that_stops_answering_pings_is_dropped_and_its_player_marked_away() -> None:
    env = {"MARATANG_PING_INTERVAL": "0.3", "MARATANG_PING_TIMEOUT": "0.3"}
    with running_server("--fallback-tps", "400", env=env) as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        alex = table.seats[1]
        alex.client.socket.transport.pause_reading()  # a frozen phone: no pong ever comes
        away = await table.host.wait_for(lambda m: m["t"] == "player.away", 10)
        assert away["player"] == alex.player["id"]
        assert table.host.received[0]["heartbeat_ms"] == 300
        alex.client.socket.transport.resume_reading()  # its close need not wait out a timeout
