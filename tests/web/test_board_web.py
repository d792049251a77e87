"""Case officers work the board on metadata only; content routes stay closed to them and to
admins, and admins cannot reach the board."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, Desk, StaffRole, StaffUser, Tip, TipStatus
from tests.web.conftest import ReceivingDesk, add_desk, csrf_token_from
from tests.web.staff_steps import make_staff, sign_in
from tests.web.tipster_steps import submit_report

OBJECT_ID = "00000000-0000-4000-8000-000000000000"


def submitted_tip(app: Flask, client: FlaskClient, desk: ReceivingDesk) -> str:
    assert submit_report(client, desk.slug, {"description": "seen online"}).code
    session = app.extensions["tipline.sessions"]()
    try:
        return session.scalars(select(Tip.id)).one()
    finally:
        session.close()


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> int:
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}).status_code


def test_an_officer_changes_status_assignee_and_tags_and_every_change_is_audited(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    tip_id = submitted_tip(app, client, desk)
    officer = make_staff(app, "olga", StaffRole.OFFICER, [desk.slug])
    sign_in(app, client, officer)
    page = f"/staff/board/tips/{tip_id}"
    assert client.get(page).status_code == 200
    assert post_form(client, page, f"{page}/status", {"status": "triaged"}) == 303
    session = app.extensions["tipline.sessions"]()
    officer_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "olga"))
    session.close()
    assert post_form(client, page, f"{page}/assignee", {"assignee": str(officer_id)}) == 303
    assert post_form(client, page, f"{page}/tags", {"commodity": "horn"}) == 303
    assert post_form(client, page, f"{page}/status", {"status": "received"}) == 422
    session = app.extensions["tipline.sessions"]()
    tip = session.get_one(Tip, tip_id)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.tip_id == tip_id)).all()
    session.close()
    assert tip.status is TipStatus.TRIAGED and tip.assignee_id == officer_id
    assert tip.acknowledged_on is not None
    assert actions == ["tip.status_changed", "tip.assigned", "tip.tags_changed"]
    board = client.get("/staff/board/?view=open").get_data(as_text=True)
    assert tip_id[:8] in board and "seen online" not in board


def content_routes(app: Flask, tip_id: str) -> list[tuple[str, str]]:
    """Every route of the staff blueprint that shows or changes a tip's content."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.tip_"):
            continue
        values = {name: tip_id if name == "tip_id" else OBJECT_ID for name in rule.arguments}
        path = rule.build(values)[1]  # type: ignore[index]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.ADMIN])
def test_officers_and_admins_get_403_on_every_content_route(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, role: StaffRole
) -> None:
    tip_id = submitted_tip(app, client, desk)
    account = make_staff(app, "someone", role, [desk.slug] if role is StaffRole.OFFICER else [])
    sign_in(app, client, account)
    routes = content_routes(app, tip_id)
    assert len(routes) >= 4, routes
    token = csrf_token_from(client.get("/staff/account").get_data(as_text=True))
    for method, path in routes:
        response = client.open(path, method=method, data={"csrf_token": token, "text": "x"})
        assert response.status_code == 403, (method, path, response.status_code)


def test_an_admin_cannot_reach_the_board_and_an_officer_not_the_admin_area(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    tip_id = submitted_tip(app, client, desk)
    admin = make_staff(app, "ada", StaffRole.ADMIN)
    sign_in(app, client, admin)
    for path in ("/staff/board/", f"/staff/board/tips/{tip_id}", "/staff/board/stats"):
        assert client.get(path).status_code == 403, path
    officer_client = app.test_client()
    sign_in(app, officer_client, make_staff(app, "otto", StaffRole.OFFICER, [desk.slug]))
    for path in ("/admin/", "/admin/desks", "/admin/users", "/admin/audit", "/admin/stats"):
        assert officer_client.get(path).status_code == 403, path


def test_an_officer_sees_only_the_tips_of_their_desks(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    tip_id = submitted_tip(app, client, desk)
    add_desk(app, "france", ["FR"])
    sign_in(app, client, make_staff(app, "fred", StaffRole.OFFICER, ["france"]))
    assert client.get(f"/staff/board/tips/{tip_id}").status_code == 404
    assert tip_id[:8] not in client.get("/staff/board/?view=open").get_data(as_text=True)


def test_the_board_lists_overdue_tips_and_the_digest_counts_them(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    tip_id = submitted_tip(app, client, desk)
    session = app.extensions["tipline.sessions"]()
    tip = session.get_one(Tip, tip_id)
    old = datetime.now(UTC).date() - timedelta(days=20)
    tip.received_on, tip.ack_due_on, tip.next_due_on = old, old + timedelta(7), old + timedelta(7)
    session.commit()
    session.close()
    sign_in(app, client, make_staff(app, "olga", StaffRole.OFFICER, [desk.slug]))
    html = client.get("/staff/board/").get_data(as_text=True)
    assert f'href="/staff/board/tips/{tip_id}"' in html
    assert re.search(r"Acknowledgements overdue: <strong>1</strong> — " + tip_id[:8], html)


def test_a_desk_that_acknowledges_automatically_does_so_on_receipt(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    session = app.extensions["tipline.sessions"]()
    session.scalars(select(Desk)).one().auto_acknowledge = True
    session.commit()
    session.close()
    tip_id = submitted_tip(app, client, desk)
    session = app.extensions["tipline.sessions"]()
    tip = session.get_one(Tip, tip_id)
    session.close()
    assert tip.status is TipStatus.ACKNOWLEDGED
    assert tip.acknowledged_on == tip.received_on
    assert tip.next_due_on == tip.feedback_due_on
