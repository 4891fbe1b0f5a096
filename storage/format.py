"""The layout of a stored table in the current format, written and read field by field.

Storage owns this layout: it names every key itself and never asks the protocol's field
reflection (`protocol.wire`), so renaming a protocol or `game.state` field cannot change what is
stored without someone changing this file, its version and its tests. `storage.serial` adds
the version number, and upgrades older layouts to this one before `decode_table` reads them.

Format 1, a MessagePack map (`fmt` is added by `storage.serial`; every key is always present,
`nil` where the table has None):

    session: str   code: str   seed: int   phase: "lobby"|"picking"|"tasting"|"over"|"closed"
    settings: {rounds: int, seconds: int, lang: "ko"|"en"}
    seats: [{player: str, name: str, away: bool, total: int}]    (join order)
    host: str|nil   round: int   customers: [str]   deadline: int|nil (ms since the epoch)
    bowls: {player: {bowl: BOWL, at: int}}      BOWL = {ingredients: [str], spice: int}
    results: nil | [{player: str, score: int, place: int,
                     breakdown: [{rule: str, points: int}], bowl: BOWL|nil}]
    narration: nil | {nid: str, kind: "entrance"|"tasting"|"finale", round: int, text: str,
                      source: "llm"|"fallback"|"mixed"|nil, told_by: [source]}
    pending: "entrance"|"tasting"|"finale"|nil
    ranking: nil | [{player: str, name: str, total: int, place: int}]

It is the shape of the protocol's wire map of a table when formats began (format 0) with every
key written, so the release before formats, which ignores unknown keys and reads `nil` as
absent, reads format 1 too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, get_args

from game.catalog import CustomerId
from game.state import NarrationState, Seat, Submission, Table, TableSettings
from protocol.errors import ProtocolError
from protocol.types import (
    Bowl,
    Lang,
    NarrationId,
    NarrationKind,
    NarrationSource,
    Phase,
    PlayerId,
    Points,
    RankEntry,
    Result,
    SessionId,
)

TABLE_FORMAT = 1
"""The format `encode_table` writes and `decode_table` reads."""

T = TypeVar("T")
L = TypeVar("L")
Plain = dict[str, Any]

PHASES: tuple[Phase, ...] = get_args(Phase)
LANGS: tuple[Lang, ...] = get_args(Lang)
KINDS: tuple[NarrationKind, ...] = get_args(NarrationKind)
SOURCES: tuple[NarrationSource, ...] = get_args(NarrationSource)


class StorageFormatError(ValueError):
    """Stored bytes this release cannot read: damaged, not a table or event at all, or written
    by a newer release in a format this one does not know. The message says where."""


# Writing ----------------------------------------------------------------------------------


def encode_table(table: Table) -> Plain:
    s = table.settings
    return {
        "session": table.session,
        "code": table.code,
        "seed": table.seed,
        "settings": {"rounds": s.rounds, "seconds": s.seconds, "lang": s.lang},
        "phase": table.phase,
        "seats": [
            {"player": x.player, "name": x.name, "away": x.away, "total": x.total}
            for x in table.seats
        ],
        "host": table.host,
        "round": table.round,
        "customers": list(table.customers),
        "deadline": table.deadline,
        "bowls": {p: {"bowl": _bowl(x.bowl), "at": x.at} for p, x in table.bowls.items()},
        "results": None if table.results is None else [_result(r) for r in table.results],
        "narration": None if table.narration is None else _narration(table.narration),
        "pending": table.pending,
        "ranking": None if table.ranking is None else [_rank(r) for r in table.ranking],
    }


def _bowl(bowl: Bowl) -> Plain:
    return {"ingredients": list(bowl.ingredients), "spice": bowl.spice}


def _result(result: Result) -> Plain:
    return {
        "player": result.player,
        "score": result.score,
        "place": result.place,
        "breakdown": [{"rule": p.rule, "points": p.points} for p in result.breakdown],
        "bowl": None if result.bowl is None else _bowl(result.bowl),
    }


def _narration(narration: NarrationState) -> Plain:
    return {
        "nid": narration.nid,
        "kind": narration.kind,
        "round": narration.round,
        "text": narration.text,
        "source": narration.source,
        "told_by": list(narration.told_by),
    }


def _rank(entry: RankEntry) -> Plain:
    return {"player": entry.player, "name": entry.name, "total": entry.total, "place": entry.place}


# Reading ----------------------------------------------------------------------------------


class _Fields:
    """One stored map, its keys checked to be exactly the layout's; each read checks a type
    and names the field by its path when it is wrong."""

    def __init__(self, value: object, where: str, keys: tuple[str, ...]) -> None:
        if not isinstance(value, Mapping):
            raise StorageFormatError(f"{where}: expected a map")
        missing = ", ".join(k for k in keys if k not in value)
        extra = ", ".join(sorted(str(k) for k in value if k not in keys))
        if missing:
            raise StorageFormatError(f"{where}: missing {missing}")
        if extra:
            raise StorageFormatError(f"{where}: unexpected {extra}")
        self._value = value
        self._where = where

    def at(self, key: str) -> str:
        return f"{self._where}.{key}"

    def string(self, key: str) -> str:
        return _str(self._value[key], self.at(key))

    def integer(self, key: str) -> int:
        return _int(self._value[key], self.at(key))

    def boolean(self, key: str) -> bool:
        value = self._value[key]
        if not isinstance(value, bool):
            raise StorageFormatError(f"{self.at(key)}: expected a boolean")
        return value

    def one_of(self, key: str, options: tuple[L, ...]) -> L:
        return _one_of(self._value[key], self.at(key), options)

    def get(self, key: str, read: Callable[[object, str], T]) -> T:
        return read(self._value[key], self.at(key))

    def optional(self, key: str, read: Callable[[object, str], T]) -> T | None:
        value = self._value[key]
        return None if value is None else read(value, self.at(key))

    def each(self, key: str, read: Callable[[object, str], T]) -> tuple[T, ...]:
        return _each(self._value[key], self.at(key), read)


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise StorageFormatError(f"{where}: expected a string")
    return value


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise StorageFormatError(f"{where}: expected an integer")
    return value


def _one_of(value: object, where: str, options: tuple[L, ...]) -> L:
    for option in options:
        if value == option and type(value) is type(option):
            return option
    raise StorageFormatError(f"{where}: expected one of {', '.join(map(str, options))}")


def _each(value: object, where: str, read: Callable[[object, str], T]) -> tuple[T, ...]:
    if not isinstance(value, list | tuple):
        raise StorageFormatError(f"{where}: expected a list")
    return tuple(read(item, f"{where}[{i}]") for i, item in enumerate(value))


TABLE_KEYS = (
    "session",
    "code",
    "seed",
    "settings",
    "phase",
    "seats",
    "host",
    "round",
    "customers",
    "deadline",
    "bowls",
    "results",
    "narration",
    "pending",
    "ranking",
)


def decode_table(value: object) -> Table:
    """The table a current-format map holds, or `StorageFormatError` naming the bad field."""
    where = "table"
    if isinstance(value, Mapping) and isinstance(value.get("session"), str):
        where = f"table {value['session'][:64]}"
    f = _Fields(value, where, TABLE_KEYS)
    return Table(
        session=SessionId(f.string("session")),
        code=f.string("code"),
        seed=f.integer("seed"),
        settings=f.get("settings", _settings),
        phase=f.one_of("phase", PHASES),
        seats=f.each("seats", _seat),
        host=f.optional("host", _player),
        round=f.integer("round"),
        customers=f.each("customers", lambda v, at: CustomerId(_str(v, at))),
        deadline=f.optional("deadline", _int),
        bowls=f.get("bowls", _bowls),
        results=f.optional("results", lambda v, at: _each(v, at, _result_of)),
        narration=f.optional("narration", _narration_of),
        pending=f.optional("pending", lambda v, at: _one_of(v, at, KINDS)),
        ranking=f.optional("ranking", lambda v, at: _each(v, at, _rank_of)),
    )


def _player(value: object, where: str) -> PlayerId:
    return PlayerId(_str(value, where))


def _settings(value: object, where: str) -> TableSettings:
    f = _Fields(value, where, ("rounds", "seconds", "lang"))
    return TableSettings(f.integer("rounds"), f.integer("seconds"), f.one_of("lang", LANGS))


def _seat(value: object, where: str) -> Seat:
    f = _Fields(value, where, ("player", "name", "away", "total"))
    return Seat(
        PlayerId(f.string("player")), f.string("name"), f.boolean("away"), f.integer("total")
    )


def _bowls(value: object, where: str) -> Mapping[PlayerId, Submission]:
    if not isinstance(value, Mapping):
        raise StorageFormatError(f"{where}: expected a map")
    bowls = {_player(p, f"{where} key"): _submission(x, f"{where}.{p}") for p, x in value.items()}
    return MappingProxyType(bowls)


def _submission(value: object, where: str) -> Submission:
    f = _Fields(value, where, ("bowl", "at"))
    return Submission(f.get("bowl", _bowl_of), f.integer("at"))


def _bowl_of(value: object, where: str) -> Bowl:
    f = _Fields(value, where, ("ingredients", "spice"))
    ingredients = f.each("ingredients", _str)
    spice = f.integer("spice")
    try:
        return Bowl(ingredients, spice)
    except ProtocolError as exc:  # a bowl the protocol's limits refuse
        raise StorageFormatError(f"{where}: {exc.message}") from None


def _result_of(value: object, where: str) -> Result:
    f = _Fields(value, where, ("player", "score", "place", "breakdown", "bowl"))
    return Result(
        player=PlayerId(f.string("player")),
        score=f.integer("score"),
        place=f.integer("place"),
        breakdown=f.each("breakdown", _points),
        bowl=f.optional("bowl", _bowl_of),
    )


def _points(value: object, where: str) -> Points:
    f = _Fields(value, where, ("rule", "points"))
    return Points(f.string("rule"), f.integer("points"))


def _narration_of(value: object, where: str) -> NarrationState:
    f = _Fields(value, where, ("nid", "kind", "round", "text", "source", "told_by"))
    return NarrationState(
        nid=NarrationId(f.string("nid")),
        kind=f.one_of("kind", KINDS),
        round=f.integer("round"),
        text=f.string("text"),
        source=f.optional("source", lambda v, at: _one_of(v, at, SOURCES)),
        told_by=f.each("told_by", lambda v, at: _one_of(v, at, SOURCES)),
    )


def _rank_of(value: object, where: str) -> RankEntry:
    f = _Fields(value, where, ("player", "name", "total", "place"))
    return RankEntry(
        PlayerId(f.string("player")), f.string("name"), f.integer("total"), f.integer("place")
    )
