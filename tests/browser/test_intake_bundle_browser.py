"""The report page's two scripts in real Chromium: libsodium.js and the intake bundle, under SRI.

The page has no inline script and its CSP allows same-origin script files only. These tests
show that Chromium runs the intake under that policy without a violation, fetches no script
but the two (the bundle carries every module the intake needs), and refuses either file when
its bytes differ from the page's ``integrity``. The SHA-256 in the bundle is checked against
hashlib in Node (tests/web/test_api_js_client.py) and, through this very bundle, on every file
uploaded in tests/browser/test_intake_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.web.conftest import ReceivingDesk

pytestmark = pytest.mark.browser

REPORT_PAGE = "/submit/report?country=KE"
RECORD_VIOLATIONS = """
globalThis.violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  globalThis.violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def open_report_page(chromium: Any) -> tuple[Any, Any, list[Any]]:
    context = chromium.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    return context, page, requests


def test_the_bundle_runs_under_the_csp_and_is_the_only_script_besides_libsodium(
    chromium: Any, live_server: LiveServer, live_desk: ReceivingDesk
) -> None:
    context, page, requests = open_report_page(chromium)
    try:
        page.goto(f"{live_server.url}{REPORT_PAGE}")
        page.wait_for_selector("#report-form[data-intake=ready]", timeout=30_000)
        assert page.evaluate("globalThis.violations") == []
        assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        scripts = [r.url for r in requests if r.resource_type == "script"]
        assert sorted(scripts) == [
            f"{live_server.url}/vendor/intake.js",
            f"{live_server.url}/vendor/sodium.js",
        ]
        assert not any("/static/js/" in r.url or r.url.endswith(".mjs") for r in requests)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("script", "state"),
    [
        ("/vendor/intake.js", None),  # the intake never runs: the plain form
        ("/vendor/sodium.js", "unavailable"),  # the intake runs, finds no libsodium.js
    ],
)
def test_a_changed_script_is_refused_by_its_integrity(
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    script: str,
    state: str | None,
) -> None:
    context, page, _ = open_report_page(chromium)
    tampered: list[str] = []

    def tamper(route: Any) -> None:
        response = route.fetch()
        tampered.append(route.request.url)
        route.fulfill(response=response, body=response.body() + b"\n")

    try:
        page.route(re.compile(re.escape(script) + "$"), tamper)
        name = script.rsplit("/", 1)[1]
        with page.expect_console_message(
            lambda message: "integrity" in message.text and name in message.text
        ):
            page.goto(f"{live_server.url}{REPORT_PAGE}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)  # time enough for the script, had it been run anyway
        assert tampered  # it was requested, changed by one byte, and then never run
        assert page.get_attribute("#report-form", "data-intake") == state
        assert page.evaluate("globalThis.violations") == []
    finally:
        context.close()
