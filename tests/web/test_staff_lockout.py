"""Staff lockout: it holds against concurrent attempts, and a locked account, an unknown name
and a wrong password get the same answer after the same work (issue 20)."""

from __future__ import annotations

import http.cookiejar
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from app import create_app
from app.cli import cli
from app.config import StaffKdf
from app.db import make_engine, make_session_factory
from app.models import AuditEvent, StaffRole, StaffSession, StaffUser
from app.services import audit, staff_auth
from app.services.audit import AuditAction
from app.services.staff import create_staff_user
from app.services.staff_auth import MAX_FAILED_SIGN_INS
from tests.support.served import tipline_serve
from tests.web.conftest import csrf_token_from, make_test_config
from tests.web.staff_steps import StaffAccount, fresh_code, make_staff, post_login
from tests.web.test_staff_sign_in import WRONG

WRONG_PASSWORD = "Wrong-horse-battery-1"
CHEAP_KDF = StaffKdf(opslimit=1, memlimit=8 * 1024 * 1024)
# Database 15 of the local Redis: the rate limits' keys are per user name, and each test's
# user name is new, so runs never share a count.
REDIS_URL = "redis://127.0.0.1:6379/15"
CONCURRENT_ATTEMPTS = 10  # the per-name rate limit on /staff/login: all of them get through


def _lock(app: Flask, client: FlaskClient, username: str) -> None:
    for _ in range(MAX_FAILED_SIGN_INS):
        assert post_login(client, username, WRONG_PASSWORD, "000000").status_code == 403
    session = app.extensions["tipline.sessions"]()
    try:
        locked_until = session.scalar(
            select(StaffUser.locked_until).where(StaffUser.username == username)
        )
    finally:
        session.close()
    assert locked_until is not None and locked_until > datetime.now(UTC)


def test_locked_unknown_and_wrong_password_get_byte_identical_answers(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CSRF token on the page is signed with the current second: pin it, so that the three
    # pages can be compared whole.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: 1_800_000_000)
    unknown = post_login(client, "otto", WRONG_PASSWORD, "000000")
    account = make_staff(app, "otto", StaffRole.OFFICER)
    wrong = post_login(client, "otto", WRONG_PASSWORD, "000000")
    _lock(app, client, "otto")
    locked = post_login(client, "otto", account.password, fresh_code(app, account))

    assert unknown.status_code == wrong.status_code == locked.status_code == 403
    assert unknown.get_data() == wrong.get_data() == locked.get_data()
    assert WRONG in locked.get_data(as_text=True)
    assert client.get_cookie("tipline_staff") is None


def test_a_locked_account_still_pays_the_password_verification(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    _lock(app, client, "otto")
    verified: list[str] = []
    verify = staff_auth.verify_password

    def counting_verify(password_hash: str, password: str, kdf: StaffKdf) -> bool:
        verified.append(password_hash)
        return verify(password_hash, password, kdf)

    monkeypatch.setattr(staff_auth, "verify_password", counting_verify)
    session = app.extensions["tipline.sessions"]()
    own_hash = session.scalars(select(StaffUser.password_hash)).one()
    session.close()

    assert post_login(client, "otto", account.password, fresh_code(app, account)).status_code == 403
    assert verified == [own_hash]  # the account's own hash, as for a wrong password
    assert post_login(client, "nobody", WRONG_PASSWORD, "000000").status_code == 403
    assert len(verified) == 2 and verified[1] != own_hash  # the dummy hash, once


def _new_officer(database_url: str, username: str) -> StaffAccount:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            password = f"Correct-horse-{secrets.token_hex(6)}"
            created = create_staff_user(
                session,
                username=username,
                role=StaffRole.OFFICER,
                desk_slugs=[],
                password=password,
                now=datetime.now(UTC),
                kdf=CHEAP_KDF,
                actor_id=None,
            )
            session.commit()
    finally:
        engine.dispose()
    return StaffAccount(username, password, created.totp_secret, StaffRole.OFFICER)


def _wrong_password_at_once(base_url: str, username: str, start: threading.Barrier) -> int:
    """GET the form (a session of its own), wait for the others, POST a wrong password."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base_url}/staff/login", timeout=30) as page:
        token = csrf_token_from(page.read().decode())
    form = {"csrf_token": token, "username": username, "password": WRONG_PASSWORD}
    body = urllib.parse.urlencode(form | {"totp": "000000"}).encode()
    start.wait(timeout=60)
    try:
        with opener.open(f"{base_url}/staff/login", data=body, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_concurrent_wrong_passwords_over_two_workers_all_count_and_lock_the_account(
    tmp_path: Path, database_url: str
) -> None:
    username = f"otto{secrets.token_hex(4)}"
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_REDIS_URL": REDIS_URL,
        "TIPLINE_ENV": "development",
        "PATH": "/usr/bin:/bin",
    }
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    account = _new_officer(database_url, username)
    statuses: list[int] = []
    start = threading.Barrier(CONCURRENT_ATTEMPTS)
    with tipline_serve(env, workers=2) as served:

        def attempt() -> None:
            statuses.append(_wrong_password_at_once(served.url, username, start))

        threads = [threading.Thread(target=attempt) for _ in range(CONCURRENT_ATTEMPTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert statuses == [403] * CONCURRENT_ATTEMPTS  # none cut short by the rate limit

    checker = create_app(make_test_config(database_url, tmp_path / "checker"))
    try:
        session = checker.extensions["tipline.sessions"]()
        user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        assert user.locked_until is not None and user.locked_until > datetime.now(UTC)
        failures = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == AuditAction.STAFF_SIGN_IN_FAILED.value,
                AuditEvent.actor_user_id == user.id,
            )
        )
        assert failures == CONCURRENT_ATTEMPTS  # every attempt is on the record
        assert audit.verify_chain(session).first_bad_event_id is None
        session.close()

        client = checker.test_client()
        right = post_login(client, username, account.password, fresh_code(checker, account))
        assert right.status_code == 403 and WRONG in right.get_data(as_text=True)
        session = checker.extensions["tipline.sessions"]()
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0
        session.close()
    finally:
        checker.extensions["tipline.engine"].dispose()
