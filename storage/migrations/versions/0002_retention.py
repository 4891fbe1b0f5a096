"""Indexes for pruning what outlived its retention: snapshots by age, games by session.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX session_snapshots_by_age ON session_snapshots (taken_at)")
    op.execute("CREATE INDEX games_by_session ON games (session_id)")


def downgrade() -> None:
    op.execute("DROP INDEX games_by_session")
    op.execute("DROP INDEX session_snapshots_by_age")
