"""`maratang migrate`: bring the records database to the newest schema (`alembic upgrade
head`). Safe on every deploy and from several processes at once (see `migrations/env.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMES = ("postgresql://", "postgres://")


def check_url(url: str) -> str:
    """`url` if it is a PostgreSQL URL; raises ValueError saying what is expected."""
    if not url.startswith(SCHEMES):
        raise ValueError("the database URL must start with postgresql://")
    return url


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    driver_url = "postgresql+asyncpg://" + check_url(url).split("://", 1)[1]
    config.set_main_option("sqlalchemy.url", driver_url.replace("%", "%%"))
    return config


def upgrade_head(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")
