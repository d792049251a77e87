"""A case officer in real Chromium: board, acknowledge a tip; the tipster sees the new status."""

from __future__ import annotations

from app.models import StaffRole
from tests.browser.conftest import LiveServer
from tests.support.canary import new_canary
from tests.web.conftest import ReceivingDesk
from tests.web.staff_steps import fresh_code, make_staff
from tests.web.test_intake_nojs import only_tip_id
from tests.web.tipster_steps import every_field, log_in, submit_report


def test_officer_acknowledges_from_the_board_and_the_tipster_is_told(
    chromium: object, live_server: LiveServer, live_desk: ReceivingDesk
) -> None:
    app = live_server.app
    officer = make_staff(app, "olga", StaffRole.OFFICER, [live_desk.slug])
    canary = new_canary()
    tipster = app.test_client()
    submitted = submit_report(tipster, live_desk.slug, every_field(canary))
    assert submitted.code is not None
    tip_id = only_tip_id(app)

    context = chromium.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/login")
        page.fill("#username", officer.username)
        page.fill("#password", officer.password)
        page.fill("#totp", fresh_code(app, officer))
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/staff/")
        page.goto(f"{live_server.url}/staff/board/?view=open")
        assert tip_id[:8] in page.content()
        assert canary not in page.content()  # officers never see content

        page.goto(f"{live_server.url}/staff/board/tips/{tip_id}")
        page.select_option("#status", "acknowledged")
        page.click("form[action$='/status'] button[type=submit]")
        page.wait_for_load_state()
        assert "acknowledged" in page.content()
        assert canary not in page.content()
        assert page.goto(f"{live_server.url}/staff/tips/{tip_id}").status == 403  # type: ignore[union-attr]
    finally:
        context.close()

    assert log_in(tipster, submitted.code).status_code == 303
    thread = tipster.get("/status/thread").get_data(as_text=True)
    assert "The desk has confirmed that they received your tip" in thread
