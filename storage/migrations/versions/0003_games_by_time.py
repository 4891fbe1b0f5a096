"""An index for every finished game, newest first (the table inspector's list of games).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX games_by_time ON games (finished_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP INDEX games_by_time")
