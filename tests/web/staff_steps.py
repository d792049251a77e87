"""Steps staff take in tests: accounts with a known password and TOTP secret, signing in."""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.models import StaffRole, StaffUser
from app.services.staff import create_staff_user
from tests.web.conftest import csrf_token_from

TIP_LINK = re.compile(r'href="/staff/tips/([0-9a-f-]{36})"')


@dataclass(frozen=True)
class StaffAccount:
    username: str
    password: str
    totp_secret: str
    role: StaffRole


def make_staff(
    app: Flask,
    username: str,
    role: StaffRole,
    desk_slugs: Sequence[str] = (),
    *,
    password: str | None = None,
) -> StaffAccount:
    """An account ready to sign in (a prosecutor gets their key at creation, as with the CLI)."""
    if password is None:
        password = f"Correct-horse-{secrets.token_hex(6)}"
        while username in password.lower():  # random hex can spell a name like "ada"
            password = f"Correct-horse-{secrets.token_hex(6)}"
    session = app.extensions["tipline.sessions"]()
    try:
        created = create_staff_user(
            session,
            username=username,
            role=role,
            desk_slugs=list(desk_slugs),
            password=password,
            now=datetime.now(UTC),
            kdf=app.extensions["tipline.config"].staff_kdf,
            actor_id=None,
        )
        session.commit()
    finally:
        session.close()
    return StaffAccount(username, password, created.totp_secret, role)


def fresh_code(app: Flask, account: StaffAccount) -> str:
    """A valid one-time code newer than the last one accepted (a replay would be refused).

    Only the current step and the next are used: each stays inside the server's ±1-step window
    for at least 30 s, whereas the previous step may expire before the request arrives. When
    both are used up, wait for the next step.
    """
    session = app.extensions["tipline.sessions"]()
    try:
        last = session.scalar(
            select(StaffUser.last_totp_step).where(StaffUser.username == account.username)
        )
    finally:
        session.close()
    totp = pyotp.TOTP(account.totp_secret)
    while True:
        current = totp.timecode(datetime.now(UTC))
        for step in (current, current + 1):
            if last is None or step > last:
                return totp.generate_otp(step)
        time.sleep(max(0.1, totp.interval - time.time() % totp.interval))


def post_login(
    client: FlaskClient,
    username: str,
    password: str,
    code: str,
    *,
    next_path: str | None = None,
) -> TestResponse:
    token = csrf_token_from(client.get("/staff/login").get_data(as_text=True))
    path = "/staff/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        path, data={"csrf_token": token, "username": username, "password": password, "totp": code}
    )


def sign_in(app: Flask, client: FlaskClient, account: StaffAccount) -> TestResponse:
    response = post_login(client, account.username, account.password, fresh_code(app, account))
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def form_token(client: FlaskClient, path: str) -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def post_text(client: FlaskClient, tip_id: str, which: str, text: str) -> TestResponse:
    """A reply (``which="reply"``) or an internal note (``which="notes"``) on a tip."""
    token = form_token(client, f"/staff/tips/{tip_id}")
    return client.post(f"/staff/tips/{tip_id}/{which}", data={"csrf_token": token, "text": text})


def inbox_tip_ids(client: FlaskClient, query: str = "") -> list[str]:
    return TIP_LINK.findall(client.get(f"/staff/{query}").get_data(as_text=True))


def approve_reader(client: FlaskClient, approvals_page: str, name: str) -> TestResponse:
    """Approve the waiting reader ``name`` from the approvals page, as a prosecutor does after
    comparing the fingerprint shown there (the form carries the key id that was shown)."""
    section = approvals_page[approvals_page.index(name) :]
    action = re.search(r'<form method="post" action="([^"]+)"', section)
    key_id = re.search(r'name="key_id" value="([0-9a-f]{32})"', section)
    assert action is not None and key_id is not None, "no approval form for " + name
    response = client.post(
        html.unescape(action.group(1)),
        data={
            "csrf_token": csrf_token_from(approvals_page),
            "key_id": key_id.group(1),
            "compared": "yes",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return response
