"""The report page's import map in real Chromium: @noble/hashes comes from /vendor, allowed by hash.

The page's CSP allows its one inline script, the import map, by its SHA-256 and nothing else
inline; these tests show that the browser applies the map under that policy, fetches exactly
the allow-listed modules, checks every imported module (@noble/hashes and our own) against
the map's SHA-384 integrity, and that without the hash the map is refused and the form stays
the no-JavaScript one.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from app.web.vendor import NOBLE_HASHES
from tests.browser.conftest import LiveServer
from tests.web.conftest import ReceivingDesk

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
globalThis.violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  globalThis.violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""
HASH_ADAPTER = """async (text) => {
  const { Sha256 } = await import('/static/js/sha256.mjs');
  const hash = new Sha256();
  for (const piece of [text.slice(0, 1), text.slice(1, 64), text.slice(64)]) {
    hash.update(new TextEncoder().encode(piece));
  }
  return hash.hexDigest();
}"""
CSP_HASH = re.compile(r" 'sha256-[A-Za-z0-9+/=]+'")


def open_report_page(chromium: Any, server: LiveServer) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    return context, page, fetched


def test_the_import_map_brings_the_allow_listed_noble_modules_without_csp_violations(
    chromium: Any, live_server: LiveServer, live_desk: ReceivingDesk
) -> None:
    context, page, fetched = open_report_page(chromium, live_server)
    try:
        page.goto(f"{live_server.url}/submit/report?country=KE")
        page.wait_for_selector("#report-form[data-intake=ready]", timeout=30_000)
        text = "x" * 100 + "é"
        assert page.evaluate(HASH_ADAPTER, text) == hashlib.sha256(text.encode()).hexdigest()
        assert page.evaluate("globalThis.violations") == []
        noble = {url for url in fetched if "/vendor/noble-hashes/" in url}
        assert noble == {f"{live_server.url}/vendor/noble-hashes/{n}" for n in NOBLE_HASHES}
    finally:
        context.close()


def test_without_its_hash_in_the_csp_the_import_map_is_refused_and_the_form_stays_plain(
    chromium: Any, live_server: LiveServer, live_desk: ReceivingDesk
) -> None:
    context, page, fetched = open_report_page(chromium, live_server)

    def strip_hash(route: Any) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        headers["content-security-policy"] = CSP_HASH.sub("", headers["content-security-policy"])
        route.fulfill(response=response, headers=headers)

    try:
        page.route(re.compile(r"/submit/report"), strip_hash)
        page.goto(f"{live_server.url}/submit/report?country=KE")
        page.wait_for_function("globalThis.violations.length > 0", timeout=30_000)
        page.wait_for_load_state("load")
        assert page.evaluate("globalThis.violations") == ["script-src-elem inline"]
        assert page.get_attribute("#report-form", "data-intake") is None
        assert not any("/vendor/noble-hashes/" in url for url in fetched)
    finally:
        context.close()


@pytest.mark.parametrize(
    "module", ["/vendor/noble-hashes/_u64.js", "/static/js/upload.mjs", "/static/js/sha256.mjs"]
)
def test_a_changed_module_is_refused_by_the_import_maps_integrity(
    chromium: Any, live_server: LiveServer, live_desk: ReceivingDesk, module: str
) -> None:
    context, page, _ = open_report_page(chromium, live_server)
    tampered: list[str] = []

    def tamper(route: Any) -> None:
        response = route.fetch()
        tampered.append(route.request.url)
        route.fulfill(response=response, body=response.body() + b"\n// changed on the way\n")

    try:
        page.route(re.compile(re.escape(module) + "$"), tamper)
        name = module.rsplit("/", 1)[1]
        with page.expect_console_message(
            lambda message: "integrity" in message.text and name in message.text
        ):
            page.goto(f"{live_server.url}/submit/report?country=KE")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)  # time enough for the module, had it been run anyway
        assert tampered  # it was requested, changed, and then ...
        assert page.get_attribute("#report-form", "data-intake") is None  # ... never ran
    finally:
        context.close()
