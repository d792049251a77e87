"""Admins run desks, accounts, memberships, recovery keys, the audit log — never content."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import AuditEvent, DeskMembership, SealedKey, StaffKey, StaffRole, StaffUser
from app.services import stats
from crypto.keys import generate_keypair
from tests.web.conftest import ReceivingDesk, csrf_token, csrf_token_from
from tests.web.staff_steps import make_staff, sign_in
from tests.web.tipster_steps import submit_report


def token(client: FlaskClient, page: str) -> str:
    return csrf_token_from(client.get(page).get_data(as_text=True))


def signed_in_admin(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client, make_staff(app, "ada", StaffRole.ADMIN))


def test_an_admin_creates_a_desk_and_an_account_whose_invitation_is_shown_once(
    app: Flask, client: FlaskClient
) -> None:
    signed_in_admin(app, client)
    response = client.post(
        "/admin/desks",
        data={
            "csrf_token": token(client, "/admin/desks"),
            "slug": "vietnam",
            "name": "Viet Nam desk",
            "countries": "VN LA",
            "languages": "vi, en",
        },
    )
    assert response.status_code == 303 and response.location.endswith("/admin/desks/vietnam")
    page = client.post(
        "/admin/users",
        data={
            "csrf_token": token(client, "/admin/users"),
            "username": "vo",
            "role": "officer",
            "desks": "vietnam",
        },
    ).get_data(as_text=True)
    assert "/staff/invitation/" in page
    assert "/staff/invitation/" not in client.get("/admin/users").get_data(as_text=True)
    audit = client.get("/admin/audit?action=desk.").get_data(as_text=True)
    assert "desk.created" in audit and "staff.created" not in audit
    assert "staff.created" in client.get("/admin/audit?actor=ada").get_data(as_text=True)


def test_removing_a_prosecutor_deletes_their_sealed_keys_and_adding_one_waits_for_a_grant(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    make_staff(app, "paula", StaffRole.PROSECUTOR, [desk.slug])
    assert submit_report(app.test_client(), desk.slug, {"description": "x"}).code
    session = app.extensions["tipline.sessions"]()
    key_id = session.scalar(
        select(StaffKey.key_id).join(StaffUser).where(StaffUser.username == "paula")
    )
    session.close()

    def sealed_for_paula() -> int:
        session = app.extensions["tipline.sessions"]()
        try:
            return (
                session.scalar(
                    select(func.count()).select_from(SealedKey).where(SealedKey.key_id == key_id)
                )
                or 0
            )
        finally:
            session.close()

    assert sealed_for_paula() == 2
    signed_in_admin(app, client)
    page = f"/admin/desks/{desk.slug}"
    response = client.post(f"{page}/members/paula/remove", data={"csrf_token": token(client, page)})
    assert response.status_code == 303
    assert sealed_for_paula() == 0
    client.post(f"{page}/members", data={"csrf_token": token(client, page), "username": "paula"})
    session = app.extensions["tipline.sessions"]()
    membership = session.scalars(select(DeskMembership)).one()
    actions = session.scalars(select(AuditEvent.action)).all()
    session.close()
    assert membership.needs_key_grant
    assert "desk.member_removed" in actions and "desk.member_added" in actions


def test_recovery_keys_are_added_from_a_public_key_file_and_secret_key_files_refused(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    signed_in_admin(app, client)
    keypair = generate_keypair()
    public = {
        "format": "tipline-key",
        "v": 1,
        "key_id": keypair.key_id,
        "public_key": base64.b64encode(keypair.public_key).decode(),
    }
    page = f"/admin/desks/{desk.slug}"

    def upload(document: dict[str, object]) -> int:
        return client.post(
            f"{page}/recovery-keys",
            data={
                "csrf_token": token(client, page),
                "label": "vault",
                "key_file": json.dumps(document),
            },
        ).status_code

    secret = {**public, "secret_key": base64.b64encode(keypair.secret_key).decode()}
    assert upload(secret) == 422
    assert upload(public) == 303
    assert keypair.key_id in client.get(page).get_data(as_text=True)


def test_desk_guidance_reaches_the_report_form_cleaned(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    signed_in_admin(app, client)
    page = f"/admin/desks/{desk.slug}"
    response = client.post(
        f"{page}/guidance",
        data={
            "csrf_token": token(client, page),
            "language": "en",
            "markdown": "**Never buy.** <script>alert(1)</script> [x](javascript:alert(1))",
        },
    )
    assert response.status_code == 303
    form = app.test_client().get("/submit/report?country=KE").get_data(as_text=True)
    assert "<strong>Never buy.</strong>" in form
    assert "<script>alert(1)" not in form and 'href="javascript:' not in form


def test_the_statistics_page_draws_svg_and_the_settings_page_shows_no_secret(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, app_config: object
) -> None:
    assert submit_report(app.test_client(), desk.slug, {"description": "x"}).code
    signed_in_admin(app, client)
    html = client.get("/admin/stats").get_data(as_text=True)
    assert "<svg" in html and "<script" not in html
    with app.extensions["tipline.sessions"]() as session:  # the report counts at once
        figures = stats.statistics(session, today=datetime.now(UTC).date())
        assert figures.per_month[-1][1] == 1
        assert figures == stats.statistics_from_tips(session, today=datetime.now(UTC).date())
    with client.get("/admin/stats.csv") as streamed:
        csv_text = streamed.get_data(as_text=True)
    # The rows stream after the request's session closed; the download's own one is closed too.
    assert app.extensions["tipline.engine"].pool.checkedout() == 0
    assert csv_text.splitlines()[0].startswith("tip_reference,desk,status")
    assert len(csv_text.splitlines()) == 2
    settings = client.get("/admin/settings").get_data(as_text=True)
    assert app.extensions["tipline.config"].secret_key.hex() not in settings
    assert csrf_token(client, "/admin/settings") is not None


def test_an_edited_audit_page_link_is_a_clear_400_not_a_server_error(
    app: Flask, client: FlaskClient
) -> None:
    signed_in_admin(app, client)
    assert client.get("/admin/audit?before=1").status_code == 200
    for before in ["²", "9" * 19, "1e3", "-1", "01"]:  # "²" passed str.isdigit, then int() broke
        response = client.get("/admin/audit", query_string={"before": before})
        assert response.status_code == 400, before
        assert "page link is damaged" in response.get_data(as_text=True)
