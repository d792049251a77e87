"""Engines and sessions: SQLite (the embedded default) or PostgreSQL (production, scale-out).

No Flask here: the web app, the CLI, migrations and tests all build their engine with
:func:`make_engine`, so every connection gets the same settings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

# How long a SQLite connection waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000

_POSTGRES_SCHEMES = {"postgres", "postgresql"}


def parse_database_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://`` (or ``postgres://``) means psycopg 3.

    :raises sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
    """
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; connects lazily, so an unreachable database fails on first use.

    SQLite connections run in WAL mode (readers never block the writer) with foreign keys on
    and a busy timeout, so concurrent writers queue instead of failing. SQLite's own
    (driver-default) transaction handling is kept on purpose: like PostgreSQL's READ
    COMMITTED, a read does not pin a snapshot that a later write in the same transaction
    would have to upgrade, which in WAL mode fails at once instead of waiting.

    :raises sqlalchemy.exc.ArgumentError: the URL cannot be parsed.
    """
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    # pre_ping: app servers outlive database restarts and failovers.
    return create_engine(parsed, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (views render after the commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _configure_sqlite_connection(dbapi_connection: Any, _connection_record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout first: switching to WAL itself needs the lock.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # A no-op answering "memory" for in-memory databases; persistent for files.
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()
