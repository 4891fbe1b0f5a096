"""Players, sessions, session snapshots and finished game records.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE players (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id          text PRIMARY KEY,
    code        text NOT NULL,
    lang        text NOT NULL,
    rounds      integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);

-- The newest snapshot of each session: what a session lost from the live store comes back from.
CREATE TABLE session_snapshots (
    session_id  text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    seq         bigint NOT NULL,
    phase       text NOT NULL,
    state       bytea NOT NULL,
    taken_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE games (
    id           text PRIMARY KEY,
    session_id   text NOT NULL REFERENCES sessions (id),
    lang         text NOT NULL,
    rounds       integer NOT NULL,
    finished_at  timestamptz NOT NULL,
    ranking      jsonb NOT NULL
);

CREATE TABLE game_players (
    game_id      text NOT NULL REFERENCES games (id) ON DELETE CASCADE,
    player_id    text NOT NULL,
    name         text NOT NULL,
    place        integer NOT NULL,
    total        integer NOT NULL,
    finished_at  timestamptz NOT NULL,
    PRIMARY KEY (game_id, player_id)
);
-- A player's recent games, newest first.
CREATE INDEX game_players_by_player ON game_players (player_id, finished_at DESC, game_id DESC);

-- Rounds and narrations are written as they end, before their game's row exists.
CREATE TABLE game_rounds (
    game_id      text NOT NULL,
    round        integer NOT NULL,
    customer     text NOT NULL,
    results      jsonb NOT NULL,
    resolved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, round)
);

CREATE TABLE game_narrations (
    game_id   text NOT NULL,
    nid       text NOT NULL,
    kind      text NOT NULL,
    round     integer NOT NULL,
    text      text NOT NULL,
    source    text NOT NULL,
    told_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, nid)
);
"""

DOWNGRADE = """
DROP TABLE game_narrations;
DROP TABLE game_rounds;
DROP TABLE game_players;
DROP TABLE games;
DROP TABLE session_snapshots;
DROP TABLE sessions;
DROP TABLE players;
"""


def _each(script: str) -> list[str]:
    """The statements of `script` one by one (asyncpg prepares each statement alone)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def upgrade() -> None:
    for statement in _each(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in _each(DOWNGRADE):
        op.execute(statement)
