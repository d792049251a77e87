"""Shared database fixtures: every test gets its own freshly migrated database.

SQLite (default): the schema is migrated once per session into a template file, which each
test copies. PostgreSQL (``TIPLINE_TEST_DATABASE_URL=postgresql://…``): migrated once per
session into a template database, which each test clones with ``CREATE DATABASE … TEMPLATE``
and drops afterwards. Names carry the process id, so pytest-xdist workers never collide.

If ``TIPLINE_TEST_DATABASE_URL`` is set and PostgreSQL does not answer, the run stops: a
missing component fails, it is never skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

# Imported here, at a shallow stack: hypothesis's pytest plugin otherwise imports it in the
# terminal summary, deep in pluggy, where CPython 3.11.7's parser fails with "AST constructor
# recursion depth mismatch" (fixed in 3.11.8) for runs that used no hypothesis test.
import hypothesis  # noqa: F401
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.db import make_engine, make_session_factory, parse_database_url
from app.migrate import upgrade

TEST_DATABASE_URL_VAR = "TIPLINE_TEST_DATABASE_URL"


def postgres_test_url() -> URL | None:
    """The PostgreSQL server the run uses, or None for SQLite."""
    raw = os.environ.get(TEST_DATABASE_URL_VAR, "").strip()
    return parse_database_url(raw) if raw else None


def pytest_report_header(config: pytest.Config) -> str:
    url = postgres_test_url()
    if url is None:
        return "tipline database: SQLite (one migrated template file, copied per test)"
    shown = url.render_as_string(hide_password=True)
    return f"tipline database: PostgreSQL at {shown} (template database cloned per test)"


def pytest_sessionstart(session: pytest.Session) -> None:
    url = postgres_test_url()
    if url is None:
        return
    probe = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        pytest.exit(
            f"{TEST_DATABASE_URL_VAR} is set but PostgreSQL at "
            f"{url.render_as_string(hide_password=True)} does not answer "
            f"({type(error).__name__}: {error}). Start it or unset the variable.",
            returncode=pytest.ExitCode.INTERNAL_ERROR,
        )
    finally:
        probe.dispose()


class SqliteDatabases:
    """A migrated template file; each test gets a copy (a few milliseconds)."""

    def __init__(self, template: Path) -> None:
        upgrade(f"sqlite:///{template}")
        # Fold the WAL into the main file so a plain copy carries the whole schema.
        with sqlite3.connect(template) as connection:
            connection.execute("PRAGMA journal_mode = DELETE")
        connection.close()
        self.template = template

    def migrated(self, directory: Path) -> str:
        path = directory / "tipline-test.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def empty(self, directory: Path) -> str:
        return f"sqlite:///{directory / 'tipline-empty.sqlite3'}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file lives in the test's tmp_path."""

    def close(self) -> None:
        pass


class PostgresDatabases:
    """A migrated template database; each test gets a clone, dropped after the test.

    Drops run on a background thread (a drop costs more than a clone), and the session's end
    waits for them and re-raises any failure.
    """

    def __init__(self, server_url: URL) -> None:
        self._server_url = server_url
        # The maintenance database named in the URL; CREATE/DROP DATABASE need autocommit.
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self._dropper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drop-test-db")
        self._drops: list[Future[None]] = []
        self._prefix = f"tipline_t_{os.getpid()}_"
        self._counter = itertools.count()
        self.template = f"tipline_tpl_{os.getpid()}"
        self._drop_database(self.template)  # left over by a crashed run with the same pid
        self._execute(f"CREATE DATABASE {self.template}")
        upgrade(self._url_for(self.template))

    def migrated(self, _directory: Path) -> str:
        name = f"{self._prefix}{next(self._counter)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return self._url_for(name)

    def empty(self, _directory: Path) -> str:
        name = f"{self._prefix}{next(self._counter)}"
        self._execute(f"CREATE DATABASE {name}")
        return self._url_for(name)

    def drop(self, url: str) -> None:
        name = parse_database_url(url).database
        assert name is not None and name.startswith(self._prefix)
        self._drops.append(self._dropper.submit(self._drop_database, name))

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        try:
            for drop in self._drops:
                drop.result()
        finally:
            self._drop_database(self.template)
            self._admin.dispose()

    def _url_for(self, database: str) -> str:
        return self._server_url.set(database=database).render_as_string(hide_password=False)

    def _drop_database(self, name: str) -> None:
        # Connections a test forgot (an undisposed engine, a server subprocess) would block it.
        with self._admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.exec_driver_sql(statement)


@pytest.fixture(scope="session")
def test_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SqliteDatabases | PostgresDatabases]:
    """Makes per-test databases from a template migrated once per session (per xdist worker)."""
    server_url = postgres_test_url()
    databases: SqliteDatabases | PostgresDatabases
    if server_url is None:
        databases = SqliteDatabases(tmp_path_factory.mktemp("db-template") / "template.sqlite3")
    else:
        databases = PostgresDatabases(server_url)
    yield databases
    databases.close()


@pytest.fixture
def database_url(
    test_databases: SqliteDatabases | PostgresDatabases, tmp_path: Path
) -> Iterator[str]:
    """The URL of a fresh database at the newest migration, private to this test."""
    url = test_databases.migrated(tmp_path)
    yield url
    test_databases.drop(url)


@pytest.fixture
def empty_database_url(
    test_databases: SqliteDatabases | PostgresDatabases, tmp_path: Path
) -> Iterator[str]:
    """The URL of a fresh database with no schema at all (for migration tests)."""
    url = test_databases.empty(tmp_path)
    yield url
    test_databases.drop(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine (``app.db.make_engine``) on the test's database; disposed afterwards."""
    test_engine = make_engine(database_url)
    yield test_engine
    test_engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session from the app's session factory; whatever was not committed is rolled back."""
    session = make_session_factory(engine)()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An (existing, 0700) instance directory for the test."""
    path = tmp_path / "instance"
    path.mkdir(mode=0o700, exist_ok=True)
    return path
