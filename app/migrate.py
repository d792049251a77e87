"""Alembic, driven from code: no alembic.ini, the database URL comes from the caller.

``migrations/env.py`` builds its engine with :func:`app.db.make_engine`, so migrations run on
the same connection settings as the app (SQLite pragmas, psycopg for PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for ``database_url`` (read by ``migrations/env.py``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # Kept out of the ini options: ConfigParser would treat a '%' in a password as syntax.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest).

    :raises sqlalchemy.exc.OperationalError: the database cannot be reached.
    :raises alembic.util.CommandError: ``revision`` is unknown.
    """
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops the whole schema)."""
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; ``None`` for a database never migrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def heads() -> list[str]:
    """The head revisions of the migration scripts (a healthy tree has exactly one)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return list(script.get_heads())
