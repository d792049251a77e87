"""The world an audit-completeness scenario sets up before the one request or command it checks.

A scenario arranges what its action needs (a desk, accounts, a tip, a draft, a signed-in
client, the form's CSRF token) through the ordinary routes and services, then hands back the
action itself, unrun: the test notes the newest audit event, runs it, and reads what it
appended (tests/services/test_audit_completeness.py).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from flask import Flask
from sqlalchemy import Select, func, select
from werkzeug.test import TestResponse

from app.config import Config
from app.models import (
    AuditEvent,
    Desk,
    EncryptedObject,
    ObjectKind,
    StaffRole,
    StaffUser,
    Tip,
    TipStatus,
)
from app.services.audit import AuditAction
from app.services.desks import add_recovery_key
from app.services.staff import create_staff_user, join_desk
from crypto.keys import KeyPair, generate_keypair
from tests.web.api_steps import PythonBrowser, plan
from tests.web.conftest import ReceivingDesk, add_desk, csrf_token, csrf_token_from
from tests.web.staff_steps import StaffAccount, fresh_code, make_staff, sign_in
from tests.web.tipster_steps import submit_report

Act = Callable[[], TestResponse]
Files = tuple[tuple[str, bytes], ...]  # (name, bytes) of evidence files
T = TypeVar("T")
ADMIN, OFFICER, PROSECUTOR = StaffRole.ADMIN, StaffRole.OFFICER, StaffRole.PROSECUTOR


@dataclass(frozen=True)
class Appended:
    """One audit event an action appended: what, and on whose behalf."""

    action: AuditAction
    actor_user_id: int | None


@dataclass(frozen=True)
class Invitation:
    username: str
    token: str
    totp_secret: str


def public_key_file(keypair: KeyPair) -> bytes:
    """A public-only key file, as an admin pastes it or the command line reads it."""
    document = {
        "format": "tipline-key",
        "v": 1,
        "key_id": keypair.key_id,
        "public_key": base64.b64encode(keypair.public_key).decode(),
    }
    return json.dumps(document).encode()


class Stage:
    """One fresh instance; ``client`` is whoever acts, ``actor`` the staff member it is."""

    def __init__(self, app: Flask, config: Config, tmp_path: Path, cleanup: ExitStack) -> None:
        self.app = app
        self.config = config
        self.tmp_path = tmp_path
        self.cleanup = cleanup
        self.client = app.test_client()
        self.actor: str | None = None
        self.cli_env = {
            "TIPLINE_DATA_DIR": str(config.data_dir),
            "TIPLINE_DATABASE_URL": config.database_url,
            "TIPLINE_ENV": "testing",
        }

    # --- What the audit log holds ------------------------------------------------------------

    def last_event_id(self) -> int:
        with self.app.extensions["tipline.sessions"]() as session:
            return int(session.scalar(select(func.max(AuditEvent.id))) or 0)

    def appended_after(self, event_id: int) -> list[Appended]:
        """The events with an id above ``event_id``, in the order they were appended."""
        with self.app.extensions["tipline.sessions"]() as session:
            rows = session.execute(
                select(AuditEvent.action, AuditEvent.actor_user_id)
                .where(AuditEvent.id > event_id)
                .order_by(AuditEvent.id)
            )
            return [Appended(AuditAction(action), actor) for action, actor in rows]

    def scalar(self, query: Select[T]) -> T | None:
        with self.app.extensions["tipline.sessions"]() as session:
            return session.scalar(query)

    def user_id(self, username: str | None) -> int | None:
        if username is None:
            return None
        return self.scalar(select(StaffUser.id).where(StaffUser.username == username))

    # --- Desks, accounts, signing in ----------------------------------------------------------

    @cached_property
    def desk(self) -> ReceivingDesk:
        return add_desk(self.app, "kenya", ["KE", "TZ"])

    def account(self, username: str, role: StaffRole) -> StaffAccount:
        """An account with a password; desk members join the stage's desk."""
        return make_staff(self.app, username, role, [] if role is ADMIN else [self.desk.slug])

    def signed_in(self, account: StaffAccount) -> Stage:
        sign_in(self.app, self.client, account)
        self.actor = account.username
        return self

    def as_admin(self) -> Stage:
        return self.signed_in(self.account("ada", ADMIN))

    def as_officer(self) -> Stage:
        return self.signed_in(self.account("olga", OFFICER))

    def invitation(self, username: str) -> Invitation:
        """An officer account waiting for its invitation to be accepted."""
        with self.app.extensions["tipline.sessions"]() as session:
            created = create_staff_user(
                session,
                username=username,
                role=OFFICER,
                desk_slugs=[self.desk.slug],
                now=datetime.now(UTC),
                kdf=self.config.staff_kdf,
                actor_id=None,
            )
            session.commit()
        assert created.invitation_token is not None
        return Invitation(username, created.invitation_token, created.totp_secret)

    def pending_prosecutor(self, username: str) -> tuple[int, str]:
        """A prosecutor an admin added to the desk, waiting for a reader's approval; their
        user id and key id."""
        admin_id = self.user_id(self.account("ada", ADMIN).username)
        make_staff(self.app, username, PROSECUTOR)  # their key is made with their password
        with self.app.extensions["tipline.sessions"]() as session:
            join_desk(session, username, self.desk.slug, now=datetime.now(UTC), actor_id=admin_id)
            session.commit()
        return self.user_key(username)

    def user_key(self, username: str) -> tuple[int, str]:
        with self.app.extensions["tipline.sessions"]() as session:
            user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
            assert user.key is not None
            return user.id, user.key.key_id

    def pending_recovery_key(self) -> tuple[int, str]:
        """A recovery key an admin added to the desk, waiting for a reader's approval; its row
        id and key id."""
        admin_id = self.user_id(self.account("ada", ADMIN).username)
        with self.app.extensions["tipline.sessions"]() as session:
            key = add_recovery_key(
                session,
                slug=self.desk.slug,
                public_key=generate_keypair().public_key,
                label="vault",
                now=datetime.now(UTC),
                actor_id=admin_id,
            )
            session.commit()
            return key.id, key.key_id

    @property
    def desk_id(self) -> int:
        desk_id = self.scalar(select(Desk.id).where(Desk.slug == self.desk.slug))
        assert isinstance(desk_id, int)
        return desk_id

    def code_for(self, account: StaffAccount) -> str:
        return fresh_code(self.app, account)

    # --- Tips and drafts ----------------------------------------------------------------------

    def tipster_code(self, files: Files = ()) -> str:
        """Submit a tip to the stage's desk from a browser of its own; the tipster's code."""
        submitted = submit_report(
            self.app.test_client(), self.desk.slug, {"description": "pangolin scales"}, list(files)
        )
        assert submitted.code is not None, submitted.response.get_data(as_text=True)
        return submitted.code

    def tip(self, files: Files = ()) -> str:
        """A freshly submitted tip of the stage's desk; its id."""
        before = self.tip_ids()
        self.tipster_code(files)
        (tip_id,) = self.tip_ids() - before
        return tip_id

    def tip_ids(self) -> set[str]:
        with self.app.extensions["tipline.sessions"]() as session:
            return set(session.scalars(select(Tip.id)))

    def file_of(self, tip_id: str) -> str:
        object_id = self.scalar(
            select(EncryptedObject.id).where(
                EncryptedObject.tip_id == tip_id, EncryptedObject.kind == ObjectKind.FILE
            )
        )
        assert isinstance(object_id, str)
        return object_id

    def reading_prosecutor(self, files: Files = ()) -> str:
        """Sign in a prosecutor of the desk who holds the keys of a new tip; its id."""
        pat = self.account("pat", PROSECUTOR)  # before the tip, so it is sealed to pat too
        tip_id = self.tip(files)
        self.signed_in(pat)
        return tip_id

    def draft(self) -> PythonBrowser:
        """A browser-intake draft opened on the stage's desk, nothing uploaded yet."""
        browser = PythonBrowser(self.client, plan({"description": "pangolin scales"}))
        assert browser.create(self.desk.slug).status_code == 201
        return browser

    def expire(self, browser: PythonBrowser) -> None:
        """Make a draft older than the 24 hours a draft may wait for its upload."""
        with self.app.extensions["tipline.sessions"]() as session:
            session.get_one(Tip, browser.draft_id).draft_expires_on = date(2020, 1, 1)
            session.commit()

    def closed_long_ago(self, tip_id: str) -> None:
        """Close a tip more than its desk's retention period (365 days) ago."""
        with self.app.extensions["tipline.sessions"]() as session:
            tip = session.get_one(Tip, tip_id)
            tip.status = TipStatus.CLOSED
            tip.closed_on = datetime.now(UTC).date() - timedelta(days=366)
            session.commit()

    # --- Requests -----------------------------------------------------------------------------

    def token(self, page: str) -> str:
        return csrf_token_from(self.client.get(page).get_data(as_text=True))

    def form(self, page: str, action: str, **data: str) -> Act:
        """The post of ``page``'s form to ``action`` (its CSRF token read now, not when run)."""
        fields = {"csrf_token": self.token(page), **data}
        return lambda: self.client.post(action, data=fields)

    def board(self, tip_id: str, action: str, **data: str) -> Act:
        page = f"/staff/board/tips/{tip_id}"
        return self.form(page, f"{page}/{action}", **data)

    def desk_form(self, action: str, **data: str) -> Act:
        page = f"/admin/desks/{self.desk.slug}"
        return self.form(page, f"{page}{action}", **data)

    def get(self, path: str) -> Act:
        return lambda: self.client.get(path)

    def tipster_signed_in(self) -> Stage:
        response = self.client.post(
            "/status", data={"csrf_token": csrf_token(self.client), "code": self.tipster_code()}
        )
        assert response.status_code == 303
        return self


def new_password() -> str:
    return f"Battery-staple-{secrets.token_hex(6)}"
