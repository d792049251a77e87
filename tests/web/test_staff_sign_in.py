"""Staff sign-in: password + TOTP, replay refusal, lockout, invitations, password change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, StaffRole, StaffSession, StaffUser
from app.services.staff import create_staff_user, disable_staff_user
from app.services.staff_auth import MAX_FAILED_SIGN_INS
from tests.web.conftest import ReceivingDesk, csrf_token_from
from tests.web.staff_steps import StaffAccount, fresh_code, make_staff, post_login, sign_in
from tests.web.test_intake_nojs import only_tip_id
from tests.web.tipster_steps import every_field, submit_report

WRONG = (
    "The user name, password or one-time code is wrong, or the account is locked "
    "(15 minutes after 5 failed attempts)."
)


def _user(app: Flask, username: str) -> StaffUser:
    session = app.extensions["tipline.sessions"]()
    try:
        user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        session.expunge(user)
        return user
    finally:
        session.close()


def _failures(app: Flask, username: str) -> int:
    return _user(app, username).failed_login_count


def test_right_password_and_code_sign_in(app: Flask, client: FlaskClient) -> None:
    officer = make_staff(app, "otto", StaffRole.OFFICER)
    response = sign_in(app, client, officer)
    assert response.headers["Location"] == "/staff/"
    cookie = client.get_cookie("tipline_staff")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    assert client.get("/staff/").status_code == 200
    assert "staff.signed_in" in [e.action for e in _events(app)]

    sign_in(app, client, officer)  # signing in again replaces the session, never adds one
    session = app.extensions["tipline.sessions"]()
    assert len(list(session.scalars(select(StaffSession)))) == 1
    session.close()


def _events(app: Flask) -> list[AuditEvent]:
    session = app.extensions["tipline.sessions"]()
    try:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        session.close()


def test_wrong_password_wrong_code_and_replay_are_refused_and_counted(
    app: Flask, client: FlaskClient
) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    code = fresh_code(app, account)

    response = post_login(client, "otto", "not the password", code)
    assert response.status_code == 403 and WRONG in response.get_data(as_text=True)
    assert _failures(app, "otto") == 1

    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    response = post_login(client, "otto", account.password, wrong_code)
    assert response.status_code == 403 and WRONG in response.get_data(as_text=True)
    assert _failures(app, "otto") == 2

    assert post_login(client, "otto", account.password, code).status_code == 303
    assert _failures(app, "otto") == 0  # a success resets the count
    replay = app.test_client()
    response = post_login(replay, "otto", account.password, code)
    assert response.status_code == 403 and WRONG in response.get_data(as_text=True)
    assert _failures(app, "otto") == 1
    assert "staff.sign_in_failed" in [e.action for e in _events(app)]


def test_unknown_user_gets_the_same_answer(app: Flask, client: FlaskClient) -> None:
    response = post_login(client, "nobody", "whatever-password", "123456")
    assert response.status_code == 403 and WRONG in response.get_data(as_text=True)


def test_missing_csrf_token_is_refused_and_counted(app: Flask, client: FlaskClient) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    response = client.post(
        "/staff/login",
        data={"username": "otto", "password": account.password, "totp": fresh_code(app, account)},
    )
    assert response.status_code == 400
    assert "This form expired or was not sent from this site" in response.get_data(as_text=True)
    assert _failures(app, "otto") == 1
    assert client.get_cookie("tipline_staff") is None


def test_five_failures_lock_the_account_even_for_the_right_password(
    app: Flask, client: FlaskClient
) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    for _ in range(MAX_FAILED_SIGN_INS):
        assert post_login(client, "otto", "wrong password!", "000000").status_code == 403
    user = _user(app, "otto")
    assert user.locked_until is not None and user.locked_until > datetime.now(UTC)
    response = post_login(client, "otto", account.password, fresh_code(app, account))
    assert response.status_code == 403  # as for a wrong password: locked is not told apart
    assert WRONG in response.get_data(as_text=True)
    assert client.get_cookie("tipline_staff") is None


def test_a_disabled_account_cannot_sign_in_and_its_sessions_stop(
    app: Flask, client: FlaskClient
) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    sign_in(app, client, account)
    session = app.extensions["tipline.sessions"]()
    disable_staff_user(session, "otto", now=datetime.now(UTC), actor_id=None)
    session.commit()
    session.close()
    assert client.get("/staff/").status_code == 303
    response = post_login(app.test_client(), "otto", account.password, fresh_code(app, account))
    assert response.status_code == 403


def test_next_only_leads_to_this_site(app: Flask, client: FlaskClient) -> None:
    account = make_staff(app, "otto", StaffRole.OFFICER)
    response = post_login(
        client, "otto", account.password, fresh_code(app, account), next_path="//evil.example/x"
    )
    assert response.headers["Location"] == "/staff/"
    tip_id = "5f0c7a1e-5b2a-4e0c-9d1e-2f3a4b5c6d7e"  # tip ids in paths are canonical UUIDs
    assert client.get(f"/staff/tips/{tip_id}").status_code == 403  # signed in, wrong role
    response = client.get("/staff/account")
    assert response.status_code == 200


def test_signed_out_visitors_go_to_sign_in_and_come_back(app: Flask, client: FlaskClient) -> None:
    response = client.get("/staff/?status=received")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/staff/login?next=")
    account = make_staff(app, "otto", StaffRole.OFFICER)
    response = post_login(
        client, "otto", account.password, fresh_code(app, account), next_path="/staff/account"
    )
    assert response.headers["Location"] == "/staff/account"


def _invite(app: Flask, username: str, role: StaffRole, desks: list[str]) -> tuple[str, str]:
    session = app.extensions["tipline.sessions"]()
    try:
        created = create_staff_user(
            session,
            username=username,
            role=role,
            desk_slugs=desks,
            now=datetime.now(UTC),
            kdf=app.extensions["tipline.config"].staff_kdf,
            actor_id=None,
        )
        session.commit()
        assert created.invitation_token is not None
        return created.invitation_token, created.totp_secret
    finally:
        session.close()


def _accept(client: FlaskClient, token: str, password: str, confirm: str, code: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/staff/invitation/{token}")
    return client.post(
        f"/staff/invitation/{token}",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "password": password,
            "confirm": confirm,
            "totp": code,
        },
    )


def test_invitation_sets_password_and_key_once(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    token, secret = _invite(app, "ina", StaffRole.PROSECUTOR, [desk.slug])
    page = client.get(f"/staff/invitation/{token}")
    assert page.status_code == 200 and secret in page.get_data(as_text=True)
    totp = pyotp.TOTP(secret)

    weak = _accept(client, token, "password1234", "password1234", totp.now())
    assert weak.status_code == 422 and "commonly used word" in weak.get_data(as_text=True)
    differ = _accept(client, token, "Lion-tusk-river-77", "Lion-tusk-river-78", totp.now())
    assert differ.status_code == 422 and "not the same" in differ.get_data(as_text=True)
    wrong = _accept(client, token, "Lion-tusk-river-77", "Lion-tusk-river-77", "000000")
    assert wrong.status_code == 422 and WRONG in wrong.get_data(as_text=True)
    assert _failures(app, "ina") == 1

    done = _accept(client, token, "Lion-tusk-river-77", "Lion-tusk-river-77", totp.now())
    assert done.status_code == 303
    user = _user(app, "ina")
    assert user.invitation_digest is None and user.password_hash is not None
    session = app.extensions["tipline.sessions"]()
    assert session.get(StaffUser, user.id).key is not None  # type: ignore[union-attr]
    session.close()
    assert client.get("/staff/").status_code == 200

    again = app.test_client().get(f"/staff/invitation/{token}")
    assert again.status_code == 410 and "expired or was already used" in again.text


def test_an_expired_invitation_says_so(app: Flask, client: FlaskClient) -> None:
    token, _ = _invite(app, "ina", StaffRole.OFFICER, [])
    session = app.extensions["tipline.sessions"]()
    user = session.scalars(select(StaffUser).where(StaffUser.username == "ina")).one()
    user.invitation_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    session.close()
    response = client.get(f"/staff/invitation/{token}")
    assert response.status_code == 410
    assert "This invitation has expired or was already used" in response.get_data(as_text=True)
    assert client.get("/staff/invitation/not-a-token").status_code == 410


def test_password_change_rewraps_the_key_and_ends_other_sessions(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    account = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    submit_report(app.test_client(), desk.slug, every_field("rewrap"))
    tip_id = only_tip_id(app)
    other = app.test_client()
    sign_in(app, other, account)
    key_before = _key_row(app)
    new_password = "Pangolin-scales-on-a-ferry-9"

    page = other.get("/staff/account")
    response = other.post(
        "/staff/account",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "current": account.password,
            "password": new_password,
            "confirm": new_password,
            "totp": fresh_code(app, account),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    key_after = _key_row(app)
    assert key_after[0] == key_before[0]  # the same key pair...
    assert key_after[1] != key_before[1]  # ...wrapped anew
    session = app.extensions["tipline.sessions"]()
    assert len(list(session.scalars(select(StaffSession)))) == 1  # only the fresh one
    session.close()
    assert other.get(f"/staff/tips/{tip_id}").status_code == 200

    old = post_login(client, "pat", account.password, "000000")
    assert old.status_code == 403
    renewed = StaffAccount("pat", new_password, account.totp_secret, account.role)
    sign_in(app, client, renewed)
    assert "rewrap description" in client.get(f"/staff/tips/{tip_id}").get_data(as_text=True)


def _key_row(app: Flask) -> tuple[str, bytes]:
    session = app.extensions["tipline.sessions"]()
    try:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "pat")).one()
        assert user.key is not None
        return user.key.key_id, user.key.wrapped_secret_key
    finally:
        session.close()
