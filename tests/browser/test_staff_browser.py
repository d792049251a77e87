"""A prosecutor in real Chromium: sign in with TOTP, read a tip, download evidence, reply."""

from __future__ import annotations

from pathlib import Path

from app.models import StaffRole
from tests.browser.conftest import LiveServer
from tests.support.canary import canary_file, new_canary
from tests.web.conftest import ReceivingDesk
from tests.web.staff_steps import fresh_code, make_staff
from tests.web.tipster_steps import every_field, log_in, submit_report


def test_prosecutor_signs_in_reads_downloads_and_replies(
    chromium: object, live_server: LiveServer, live_desk: ReceivingDesk, tmp_path: Path
) -> None:
    app = live_server.app
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [live_desk.slug])
    canary = new_canary()
    evidence = canary_file(canary, 2 * 1024 * 1024 + 3)
    tipster = app.test_client()
    submitted = submit_report(
        tipster, live_desk.slug, every_field(canary), [("listing photo.jpg", evidence)]
    )
    assert submitted.code is not None

    context = chromium.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/")
        assert "/staff/login" in page.url
        page.fill("#username", prosecutor.username)
        page.fill("#password", prosecutor.password)
        page.fill("#totp", fresh_code(app, prosecutor))
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/staff/")
        assert page.locator(".unread-mark").count() == 1

        page.click("table.inbox a")
        page.wait_for_selector("#report-title")
        assert f"{canary} description" in page.inner_text("dl.report")

        with page.expect_download() as download_info:
            page.click("table.files a")
        download = download_info.value
        assert download.suggested_filename == "listing photo.jpg"
        saved = tmp_path / "downloaded.bin"
        download.save_as(saved)
        assert saved.read_bytes() == evidence

        reply = new_canary("reply")
        page.fill("#reply-text", f"Thank you, we are looking into it. {reply}")
        page.click("form[action$='/reply'] button[type=submit]")
        page.wait_for_selector("text=Reply sent.")
        assert reply in page.inner_text("ol.thread")
    finally:
        context.close()

    assert log_in(tipster, submitted.code).status_code == 303
    assert reply in tipster.get("/status/thread").get_data(as_text=True)
