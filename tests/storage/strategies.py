"""Hypothesis strategies for tables in any state the classes allow (not only the states the
rules reach), for round trips through storage."""

from __future__ import annotations

from types import MappingProxyType
from typing import get_args

from hypothesis import strategies as st

from game.catalog import CustomerId
from game.state import NarrationState, Seat, Submission, Table, TableSettings
from protocol.types import (
    BOWL_SIZE,
    SPICE,
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

ints = st.integers(-(2**63), 2**64 - 1)
"""Every integer MessagePack holds."""
texts = st.text(max_size=24)
players = st.builds(PlayerId, texts)
kinds: st.SearchStrategy[NarrationKind] = st.sampled_from(get_args(NarrationKind))
sources: st.SearchStrategy[NarrationSource] = st.sampled_from(get_args(NarrationSource))
phases: st.SearchStrategy[Phase] = st.sampled_from(get_args(Phase))
langs: st.SearchStrategy[Lang] = st.sampled_from(get_args(Lang))

bowls = st.builds(
    Bowl,
    st.lists(texts, min_size=BOWL_SIZE[0], max_size=BOWL_SIZE[1], unique=True).map(tuple),
    st.integers(*SPICE),
)
results = st.builds(
    Result,
    players,
    ints,
    ints,
    st.lists(st.builds(Points, texts, ints), max_size=8).map(tuple),
    st.none() | bowls,
)
narrations = st.builds(
    NarrationState,
    st.builds(NarrationId, texts),
    kinds,
    ints,
    st.text(max_size=200),
    st.none() | sources,
    st.lists(sources, max_size=3, unique=True).map(tuple),
)


def _tuples(strategy: st.SearchStrategy[object], most: int = 6) -> st.SearchStrategy[object]:
    return st.lists(strategy, max_size=most).map(tuple)


tables = st.builds(
    Table,
    session=st.builds(SessionId, texts),
    code=texts,
    seed=ints,
    settings=st.builds(TableSettings, ints, ints, langs),
    phase=phases,
    seats=_tuples(st.builds(Seat, players, texts, st.booleans(), ints)),
    host=st.none() | players,
    round=ints,
    customers=_tuples(st.builds(CustomerId, texts), 10),
    deadline=st.none() | ints,
    bowls=st.dictionaries(players, st.builds(Submission, bowls, ints), max_size=6).map(
        MappingProxyType
    ),
    results=st.none() | _tuples(results),
    narration=st.none() | narrations,
    pending=st.none() | kinds,
    ranking=st.none() | _tuples(st.builds(RankEntry, players, texts, ints, ints)),
)
