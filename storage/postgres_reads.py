"""The records API's reads: a finished game's record, a player's games, and every game (for
the table inspector)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
import orjson

from game.catalog import CUSTOMERS_BY_ID, CustomerId
from storage.records import GamesPage

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


async def read_game(pool: Pool, game: str) -> dict[str, Any] | None:
    """A finished game's record, or None."""
    async with pool.acquire() as db:
        head = await db.fetchrow("SELECT * FROM games WHERE id = $1", game)
        if head is None:
            return None
        players = await db.fetch(
            "SELECT player_id, name, place, total FROM game_players WHERE game_id = $1"
            " ORDER BY place, name",
            game,
        )
        rounds = await db.fetch(
            "SELECT round, customer, results FROM game_rounds WHERE game_id = $1 ORDER BY round",
            game,
        )
        told = await db.fetch(
            "SELECT nid, kind, round, text, source FROM game_narrations WHERE game_id = $1"
            " ORDER BY told_at, nid",
            game,
        )
    return _game_record(head, players, rounds, told)


async def read_player_games(pool: Pool, player: str, limit: int, before: int | None) -> GamesPage:
    """A page of `player`'s finished games, newest first, before `before` (ms)."""
    cutoff = datetime.fromtimestamp(before / 1000, UTC) if before is not None else None
    rows = await pool.fetch(
        "SELECT g.id, g.finished_at, g.lang, g.rounds, p.place, p.total, p.name,"
        " (SELECT count(*) FROM game_players o WHERE o.game_id = g.id) AS players"
        " FROM game_players p JOIN games g ON g.id = p.game_id"
        " WHERE p.player_id = $1 AND ($2::timestamptz IS NULL OR p.finished_at < $2)"
        " ORDER BY p.finished_at DESC, p.game_id DESC LIMIT $3",
        player,
        cutoff,
        limit + 1,
    )
    games = [
        {
            "id": row["id"],
            "finished_at": _ms(row["finished_at"]),
            "lang": row["lang"],
            "rounds": row["rounds"],
            "players": row["players"],
            "place": row["place"],
            "total": row["total"],
            "name": row["name"],
        }
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return GamesPage(games, games[-1]["finished_at"] if more and games else None)


async def read_games(pool: Pool, limit: int, before: int | None) -> GamesPage:
    """A page of every finished game, newest first, before `before` (ms), with its players."""
    cutoff = datetime.fromtimestamp(before / 1000, UTC) if before is not None else None
    rows = await pool.fetch(
        "SELECT g.id, g.session_id, g.finished_at, g.lang, g.rounds,"
        " (SELECT json_agg(json_build_object('id', p.player_id, 'name', p.name,"
        "  'place', p.place, 'total', p.total) ORDER BY p.place, p.name)"
        "  FROM game_players p WHERE p.game_id = g.id) AS players"
        " FROM games g WHERE ($1::timestamptz IS NULL OR g.finished_at < $1)"
        " ORDER BY g.finished_at DESC, g.id DESC LIMIT $2",
        cutoff,
        limit + 1,
    )
    games = [
        {
            "id": row["id"],
            "session": row["session_id"],
            "finished_at": _ms(row["finished_at"]),
            "lang": row["lang"],
            "rounds": row["rounds"],
            "players": orjson.loads(row["players"]) if row["players"] else [],
        }
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return GamesPage(games, games[-1]["finished_at"] if more and games else None)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _game_record(
    head: asyncpg.Record,
    players: list[asyncpg.Record],
    rounds: list[asyncpg.Record],
    told: list[asyncpg.Record],
) -> dict[str, Any]:
    narrations: dict[int, list[dict[str, Any]]] = {}
    finale = None
    for n in told:
        entry = {"nid": n["nid"], "kind": n["kind"], "text": n["text"], "source": n["source"]}
        if n["kind"] == "finale":
            finale = entry
        else:
            narrations.setdefault(n["round"], []).append(entry)
    return {
        "id": head["id"],
        "session": head["session_id"],
        "settings": {"lang": head["lang"], "rounds": head["rounds"]},
        "finished_at": _ms(head["finished_at"]),
        "players": [
            {"id": p["player_id"], "name": p["name"], "place": p["place"], "total": p["total"]}
            for p in players
        ],
        "ranking": orjson.loads(head["ranking"]),
        "rounds": [
            {
                "round": r["round"],
                "customer": _customer(r["customer"]),
                "results": orjson.loads(r["results"]),
                "narrations": narrations.get(r["round"], []),
            }
            for r in rounds
        ],
        "finale": finale,
    }


def _customer(customer_id: str) -> dict[str, str]:
    found = CUSTOMERS_BY_ID.get(CustomerId(customer_id))
    if found is None:
        return {"id": customer_id}
    return {"id": customer_id, "name": found.name, "name_en": found.name_en}
