"""Alembic environment: the app's engine settings and the models' metadata.

Run through ``app.migrate`` (or ``tipline db upgrade``), which passes the database URL in
``config.attributes["database_url"]``; a caller may pass an open ``connection`` instead.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator

from app.db import make_engine, parse_database_url
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Draft revisions name plain ``sa.`` types, never the app's decorators: a revision must
    keep working however ``app.models.types`` changes later."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl_instance!r}"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _run_on(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite's procedure for rebuilding tables (sqlite.org/lang_altertable.html): foreign keys
    # off while tables are recreated, then prove nothing dangles before switching them on.
    # (The pragma is a no-op inside a transaction, hence the commits around it.)
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.commit()
    try:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if dangling:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {dangling[:5]}")
    finally:
        connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.commit()


def run_migrations_online() -> None:
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _run_on(given)
        return
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """``--sql`` mode: print the DDL for a DBA instead of running it."""
    context.configure(
        url=parse_database_url(config.attributes["database_url"]),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
