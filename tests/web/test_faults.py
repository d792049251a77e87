"""Faults answered clearly, with the real components: a Redis that dies, a database that does
not answer, a PostgreSQL connection dropped mid-upload or at the commit.

Redis down: limits go on per worker in memory (app/security.py), so tipsters and staff still
get in, and /healthz names the component. The database down: 503 "try again shortly, nothing
was stored" in the tipster's language, JSON under /api. Every test checks that nothing was
left half-written (no tip rows, no blob) and that the canary is nowhere on disk.

The dropped-connection tests need PostgreSQL even in a SQLite run: they use the run's
PostgreSQL (``TIPLINE_TEST_DATABASE_URL``) or the local one (``TIPLINE_TEST_POSTGRES_URL``,
default ``postgresql://postgres@127.0.0.1:5432/postgres``), and fail if it does not answer.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import create_app
from app.db import make_engine, parse_database_url
from app.models import EncryptedObject, StaffRole, Tip
from tests.conftest import PostgresDatabases, SqliteDatabases, postgres_test_url
from tests.support.canary import (
    canary_file,
    database_dump,
    files_containing,
    files_under,
    new_canary,
)
from tests.support.catalogs import use_catalog
from tests.support.redis_server import private_redis
from tests.support.served import free_port
from tests.web.api_steps import PythonBrowser, plan
from tests.web.conftest import ReceivingDesk, add_desk, csrf_token, make_test_config
from tests.web.staff_steps import make_staff, sign_in
from tests.web.tipster_steps import log_in, submit_report

DOWN_PAGE = "Nothing you sent was stored"
WRONG_CODE = "abandon " * 8


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def blob_files(data_dir: Path) -> list[Path]:
    """Every blob the file store holds, published or staged."""
    return files_under(data_dir / "blobs")


def assert_canary_nowhere(canary: str, roots: list[Path], engine: Engine | None = None) -> None:
    needles = [canary.encode(), canary.encode("utf-16-le")]
    assert files_containing(needles, files_under(*roots)) == []
    if engine is not None and engine.dialect.name == "postgresql":
        dump = database_dump(engine)
        assert all(needle not in dump for needle in needles)


# --- Redis going down ----------------------------------------------------------------------


def test_redis_dying_keeps_code_login_and_staff_sign_in_working_and_healthz_names_it(
    database_url: str, tmp_path: Path, private_tmpdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_redis(tmp_path / "redis") as server:
        config = make_test_config(database_url, tmp_path / "instance", redis_url=server.url)
        flask_app = create_app(config)
        desk = add_desk(flask_app, "kenya", ["KE"])
        code = submit_report(flask_app.test_client(), desk.slug, {"description": "ivory"}).code
        assert code is not None
        officer = make_staff(flask_app, "otto", StaffRole.OFFICER, [desk.slug])
        flooder = flask_app.test_client()
        flooder_token = csrf_token(flooder)
        flooder.post("/status", data={"csrf_token": flooder_token, "code": WRONG_CODE})

        server.stop()

        tipster = flask_app.test_client()
        assert log_in(tipster, code).status_code == 303
        assert tipster.get("/status/thread").status_code == 200
        sign_in(flask_app, flask_app.test_client(), officer)
        # Limits still hold, counted by this worker in memory from now on.
        statuses = [
            flooder.post(
                "/status", data={"csrf_token": flooder_token, "code": WRONG_CODE}
            ).status_code
            for _ in range(31)
        ]
        assert 429 in statuses and 500 not in statuses
        canary = new_canary("redis")
        sent = submit_report(
            flask_app.test_client(),
            desk.slug,
            {"description": canary},
            [("evidence.bin", canary_file(canary, 200_000))],
        )
        assert sent.code is not None  # intake is not rate-limited: it works
        health = flask_app.test_client().get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {
            "status": "unavailable",
            "database": "ok",
            "blob_store": "ok",
            "rate_limits": "unavailable",
        }

        server.start()  # back on the same port: the health check sees it at once
        assert flask_app.test_client().get("/healthz").status_code == 200

        engine = flask_app.extensions["tipline.engine"]
        assert count(engine, Tip) == 2
        assert_canary_nowhere(canary, [tmp_path, private_tmpdir], engine)
        assert canary not in caplog.text
        engine.dispose()


# --- The database not answering -------------------------------------------------------------


@pytest.fixture
def app_without_database(tmp_path: Path) -> Iterator[Flask]:
    """The app pointed at a PostgreSQL port nothing listens on."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/tipline"
    flask_app = create_app(make_test_config(url, tmp_path / "instance"))
    yield flask_app
    flask_app.extensions["tipline.engine"].dispose()


def multipart_report(token: str, canary: str, file_bytes: bytes) -> tuple[bytes, str]:
    boundary = "tipline-fault-boundary"
    parts = [
        ("csrf_token", None, token.encode()),
        ("description", None, f"Rhino horn offered {canary}".encode()),
        ("evidence", "evidence.bin", file_bytes),
    ]
    body = io.BytesIO()
    for name, filename, value in parts:
        body.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        body.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename:
            body.write(b"Content-Type: application/octet-stream\r\n")
        body.write(b"\r\n" + value + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_a_database_that_does_not_answer_gets_503_pages_in_the_tipsters_language(
    app_without_database: Flask, tmp_path: Path, private_tmpdir: Path
) -> None:
    use_catalog(
        app_without_database,
        tmp_path / "translations",
        "fr",
        {
            "Please try again shortly. Nothing you sent was stored, so send it again then.": (
                "Réessayez bientôt. Rien de ce que vous avez envoyé n'a été gardé."
            )
        },
    )
    client = app_without_database.test_client()
    token = csrf_token(client)  # the code page itself needs no database
    login = client.post("/status", data={"csrf_token": token, "code": WRONG_CODE})
    assert login.status_code == 503 and login.headers["Retry-After"] == "60"
    assert DOWN_PAGE in login.get_data(as_text=True)
    french = client.post("/status?lang=fr", data={"csrf_token": token, "code": WRONG_CODE})
    assert french.status_code == 503
    assert "Rien de ce que vous avez envoyé n'a été gardé." in html.unescape(
        french.get_data(as_text=True)
    )

    canary = new_canary("dbdown")
    body, content_type = multipart_report(token, canary, canary_file(canary, 300_000))
    upload = client.post("/submit/kenya", data=body, content_type=content_type)
    assert upload.status_code == 503 and DOWN_PAGE in upload.get_data(as_text=True)

    draft = PythonBrowser(client, plan({"description": canary})).create("kenya")
    assert draft.status_code == 503 and draft.headers["Retry-After"] == "60"
    assert draft.get_json()["error"] == "unavailable"

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {
        "status": "unavailable",
        "database": "unavailable",
        "blob_store": "ok",
        "rate_limits": "ok",
    }
    data_dir = app_without_database.extensions["tipline.config"].data_dir
    assert blob_files(data_dir) == []
    assert_canary_nowhere(canary, [tmp_path, private_tmpdir])


# --- A PostgreSQL connection that drops -----------------------------------------------------


@pytest.fixture(scope="module")
def postgres_databases(
    test_databases: SqliteDatabases | PostgresDatabases,
) -> Iterator[PostgresDatabases]:
    # A PostgreSQL run's own databases. (No isinstance: pytest loads the conftest as a module
    # of its own, so its PostgresDatabases is not the class imported here.)
    if postgres_test_url() is not None:
        yield cast(PostgresDatabases, test_databases)
        return
    server = os.environ.get(
        "TIPLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    probe = create_engine(parse_database_url(server), poolclass=NullPool)
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        pytest.fail(
            f"PostgreSQL at {server} does not answer ({type(error).__name__}): the dropped-"
            "connection tests need it (set TIPLINE_TEST_POSTGRES_URL)."
        )
    finally:
        probe.dispose()
    databases = PostgresDatabases(parse_database_url(server))
    yield databases
    databases.close()


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases, tmp_path: Path) -> Iterator[str]:
    url = postgres_databases.migrated(tmp_path)
    yield url
    postgres_databases.drop(url)


def admin_engine(database_url: str) -> Engine:
    """A superuser connection to the server's maintenance database (autocommit)."""
    url = make_url(parse_database_url(database_url)).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def cut_connections(database_url: str) -> Callable[[], None]:
    """Drop every connection to the test's database and refuse new ones (the database
    "goes away"); returns the function that lets connections in again."""
    name = make_url(database_url).database
    admin = admin_engine(database_url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )

    def restore() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.dispose()

    return restore


class CuttingStream(io.BytesIO):
    """A request body that runs ``cut`` once the server has read ``cut_after`` bytes of it."""

    def __init__(self, body: bytes, cut_after: int, cut: Callable[[], None]) -> None:
        super().__init__(body)
        self._cut_after = cut_after
        self._cut: Callable[[], None] | None = cut

    def _maybe_cut(self) -> None:
        if self._cut is not None and self.tell() >= self._cut_after:
            cut, self._cut = self._cut, None
            cut()

    def read(self, size: int | None = -1) -> bytes:
        self._maybe_cut()
        return super().read(64 * 1024 if size is None or size < 0 else min(size, 64 * 1024))

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@pytest.fixture
def postgres_app(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Flask, ReceivingDesk]]:
    flask_app = create_app(make_test_config(postgres_url, tmp_path / "instance"))
    desk = add_desk(flask_app, "kenya", ["KE"])
    yield flask_app, desk
    flask_app.extensions["tipline.engine"].dispose()


def assert_nothing_half_written(
    flask_app: Flask, database_url: str, canary: str, roots: list[Path]
) -> None:
    checker = make_engine(database_url)
    try:
        assert count(checker, Tip) == 0
        assert count(checker, EncryptedObject) == 0
        assert_canary_nowhere(canary, roots, checker)
    finally:
        checker.dispose()
    assert blob_files(flask_app.extensions["tipline.config"].data_dir) == []


def test_a_database_connection_dropped_mid_upload_answers_503_and_leaves_nothing(
    postgres_app: tuple[Flask, ReceivingDesk],
    postgres_url: str,
    tmp_path: Path,
    private_tmpdir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flask_app, desk = postgres_app
    client: FlaskClient = flask_app.test_client()
    token = csrf_token(client)
    canary = new_canary("pgdrop")
    body, content_type = multipart_report(token, canary, canary_file(canary, 3_000_000))
    restores: list[Callable[[], None]] = []
    stream = CuttingStream(body, 1_000_000, lambda: restores.append(cut_connections(postgres_url)))
    try:
        response = client.post(
            f"/submit/{desk.slug}",
            input_stream=stream,
            content_type=content_type,
            content_length=len(body),
        )
    finally:
        for restore in restores:
            restore()
    assert restores, "the connection was never cut"
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert DOWN_PAGE in response.get_data(as_text=True)
    assert_nothing_half_written(flask_app, postgres_url, canary, [tmp_path, private_tmpdir])
    assert canary not in caplog.text
    # The app recovers by itself once the database is back.
    assert submit_report(client, desk.slug, {"description": "later"}).code is not None


def test_a_commit_cut_by_the_database_removes_the_new_tips_blobs_and_answers_503(
    postgres_app: tuple[Flask, ReceivingDesk],
    postgres_url: str,
    tmp_path: Path,
    private_tmpdir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The rows are flushed and the blobs published before the commit, which the database
    then refuses by dropping the connection: the blobs go (app/context.py)."""
    flask_app, desk = postgres_app
    flask_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: no test re-raise
    setup = make_engine(postgres_url)
    with setup.begin() as connection:
        connection.exec_driver_sql(
            "CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
        )
        connection.exec_driver_sql(
            "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON tips "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit()"
        )
    setup.dispose()
    client = flask_app.test_client()
    canary = new_canary("pgcommit")
    response = submit_report(
        client, desk.slug, {"description": canary}, [("evidence.bin", canary_file(canary, 500_000))]
    ).response
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert DOWN_PAGE in response.get_data(as_text=True)
    assert_nothing_half_written(flask_app, postgres_url, canary, [tmp_path, private_tmpdir])
    assert canary not in caplog.text
