"""One place owns the database session and transaction of each request.

The request's session is opened on first use (:func:`get_db`) and settled once, when the
response is ready: committed if it succeeded (status below 400), rolled back otherwise. Views
and services never commit or roll back. Two things may settle it earlier, both here:
:func:`settle_transaction` for a refused action whose page is rendered next (through
:func:`app.web.errors.refusal_status`, which keeps the effects an error says must persist), and
:func:`end_read_transaction` before a long request body is received.

What a request writes outside the database before its rows commit (the blobs of a new tip)
is registered with :func:`discard_unless_committed`: it is removed whenever the transaction
ends without committing, including a commit that fails because the database went away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Config
from app.db import make_engine, make_session_factory
from app.storage import BlobStore, make_blob_store

log = logging.getLogger("tipline.context")


def init_app(flask_app: Flask, config: Config) -> None:
    engine = make_engine(config.database_url)
    flask_app.extensions["tipline.engine"] = engine
    flask_app.extensions["tipline.sessions"] = make_session_factory(engine)
    flask_app.extensions["tipline.blobs"] = make_blob_store(
        config.blob_store.value, data_dir=config.data_dir, engine=engine
    )
    flask_app.after_request(_commit_if_successful)
    flask_app.teardown_request(_close_session)


def get_config() -> Config:
    config: Config = current_app.extensions["tipline.config"]
    return config


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["tipline.engine"]
    return engine


def get_blob_store() -> BlobStore:
    store: BlobStore = current_app.extensions["tipline.blobs"]
    return store


def get_db() -> Session:
    """The request's session, opened on first use; committed only if the response succeeds."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["tipline.sessions"]
        g.db_session = factory()
    session: Session = g.db_session
    return session


def discard_unless_committed(undo: Callable[[], None]) -> None:
    """Have ``undo`` run if this request's transaction ends without committing: rolled back
    (an error, a refusal), or its commit failed. ``undo`` must be safe to run twice.
    """
    g.setdefault("db_undo", []).append(undo)


def _run_undo() -> None:
    for undo in g.pop("db_undo", []):
        try:
            undo()
        except Exception as error:  # the next undo still runs; the type goes to the log
            log.error("undoing an uncommitted request failed: %s", type(error).__name__)


def _committed() -> None:
    g.pop("db_undo", None)


def settle_transaction(*, keep: bool) -> None:
    """End the request's transaction now: commit it if ``keep``, else roll it back.

    For a refused action: what it changed is undone (or, for an error whose effects must
    persist, kept) before the page that shows the refusal reads the database. The session
    stays usable, and what the request does afterwards (showing that page reads the tip, and
    the reading is audited) is committed with the response, whatever its status.
    """
    session: Session | None = g.get("db_session")
    if session is None:
        return
    if keep:
        _commit(session)
    else:
        session.rollback()
        _run_undo()
    g.db_settled = True


def end_read_transaction() -> None:
    """End a transaction that only read, before a slow client sends a long body: no
    connection or snapshot is held open meanwhile (nothing was written, so nothing is lost).
    """
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def _commit_if_successful(response: Response) -> Response:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return response
    g.db_session_done = session
    if response.status_code < 400 or g.pop("db_settled", False):
        _commit(session)
    else:
        session.rollback()
        _run_undo()
    return response


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        _run_undo()
        raise
    _committed()


def _close_session(_exc: BaseException | None) -> None:
    for key in ("db_session", "db_session_done"):
        session: Session | None = g.pop(key, None)
        if session is not None:
            session.rollback()
            session.close()
    _run_undo()  # left only if nothing committed (an error escaped before the response)
