"""The report form in real Chromium: encrypted in the browser with JavaScript, posted without.

Every request the page sends is recorded, so the tests can prove that no plaintext ever left
the browser on the JavaScript path, and a recovery key reads back exactly what was typed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import Tip, TipState
from app.services import tipster as tipster_service
from tests.browser.conftest import LiveServer
from tests.support.canary import (
    canary_file,
    database_dump,
    files_containing,
    files_under,
    new_canary,
)
from tests.support.reading import OpenedObject, read_tip_as
from tests.web.conftest import ReceivingDesk
from tests.web.tipster_steps import every_field

pytestmark = pytest.mark.browser

FIVE_MB = 5 * 1024 * 1024 + 123
NO_WASM = "delete globalThis.WebAssembly;"


class Tipster:
    """One browser context on the report page, recording every request it sends."""

    def __init__(
        self, chromium: Any, server: LiveServer, *, javascript: bool = True, init_script: str = ""
    ) -> None:
        self.context = chromium.new_context(java_script_enabled=javascript)
        if init_script:
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        self.server = server
        self.requests: list[tuple[str, str, bytes]] = []
        self.page_errors: list[str] = []
        self.page.on("request", self._record)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.goto(f"{server.url}/submit/report?country=KE")
        if javascript:
            self.page.wait_for_selector("#report-form[data-intake=ready]", timeout=30_000)

    def _record(self, request: Any) -> None:
        self.requests.append((request.method, request.url, request.post_data_buffer or b""))

    def fill(self, fields: dict[str, str], files: list[Path]) -> None:
        for name, value in fields.items():
            if self.page.locator(f"select#{name}").count():
                self.page.select_option(f"#{name}", value)
            else:
                self.page.fill(f"#{name}", value)
        self.page.set_input_files("#evidence", [str(f) for f in files])

    def submit(self) -> str:
        """Send the report; return the code the page shows."""
        self.page.click("#report-form button[type=submit]")
        self.page.wait_for_selector(".code-word >> visible=true", timeout=120_000)
        return " ".join(self.page.locator(".code-word >> visible=true").all_inner_texts())

    def api_requests(self, fragment: str = "/api/v1/") -> list[tuple[str, str, bytes]]:
        return [r for r in self.requests if fragment in r[1]]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tipsters(chromium: Any, live_server: LiveServer) -> Iterator[list[Tipster]]:
    opened: list[Tipster] = []
    yield opened
    for tipster in opened:
        tipster.close()


def evidence(tmp_path: Path, name: str, body: bytes) -> Path:
    """A file for the browser to attach, outside every directory the app writes to."""
    folder = tmp_path / "tipster-device"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(body)
    return path


def the_tips(server: LiveServer) -> list[str]:
    """Submitted tips, oldest first."""
    session = server.app.extensions["tipline.sessions"]()
    try:
        submitted = select(Tip.id).where(Tip.state == TipState.SUBMITTED)
        return list(session.scalars(submitted.order_by(Tip.activity_seq)))
    finally:
        session.close()


def read_back(server: LiveServer, desk: ReceivingDesk, tip_id: str) -> list[OpenedObject]:
    app = server.app
    return read_tip_as(
        desk.recovery, app.extensions["tipline.engine"], app.extensions["tipline.blobs"], tip_id
    )


def expected_fields(typed: dict[str, str]) -> dict[str, object]:
    fields: dict[str, object] = dict(typed)
    fields["listing_urls"] = [typed["listing_urls"]]
    return fields


def code_opens_tip(server: LiveServer, code: str, tip_id: str) -> bool:
    session = server.app.extensions["tipline.sessions"]()
    try:
        access = tipster_service.login_with_code(
            session, code_text=code, pepper=server.config.pepper
        )
        return access.tip.id == tip_id
    finally:
        session.close()


def test_with_javascript_the_browser_encrypts_and_no_plaintext_leaves_it_or_lands_anywhere(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(server_tmp))
    canary = new_canary()
    typed = every_field(canary)
    body = canary_file(canary, FIVE_MB)
    tipster = Tipster(chromium, live_server)
    tipsters.append(tipster)
    tipster.fill(typed, [evidence(tmp_path, f"{canary}.jpg", body)])

    code = tipster.submit()

    assert len(code.split()) == 8 and tipster.page_errors == []
    needle = canary.encode()
    assert tipster.requests and all(needle not in sent for _, _, sent in tipster.requests)
    assert not any(method == "POST" and "/submit/" in url for method, url, _ in tipster.requests)
    chunks = tipster.api_requests("/chunks")
    assert sum(len(sent) for _, _, sent in chunks) > FIVE_MB  # the bodies were really inspected
    (tip_id,) = the_tips(live_server)
    database = live_server.config.database_url.removeprefix("sqlite:///")
    places = files_under(
        live_server.config.data_dir, server_tmp, *(Path(database + s) for s in ("", "-wal", "-shm"))
    )
    assert files_containing([needle], places) == []
    assert needle not in database_dump(live_server.app.extensions["tipline.engine"])

    report, attached = read_back(live_server, live_desk, tip_id)
    assert report.metadata == {
        "v": 1,
        "kind": "report",
        "lang": "en",
        "fields": expected_fields(typed),
    }
    assert attached.body == body
    assert (
        attached.metadata["name"] == f"{canary}.jpg" and attached.metadata["type"] == "image/jpeg"
    )
    assert attached.metadata["sha256"] == hashlib.sha256(body).hexdigest()
    assert code_opens_tip(live_server, code, tip_id)


def test_without_javascript_the_same_form_is_posted_and_shows_the_code(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    tipster = Tipster(chromium, live_server, javascript=False)
    tipsters.append(tipster)
    tipster.fill(
        {"description": "rhino horn for sale"},
        [evidence(tmp_path, "listing.png", b"\x89PNG" * 1000)],
    )

    code = tipster.submit()

    assert len(code.split()) == 8
    assert tipster.page.locator("h1").inner_text() == "Your tip was sent. Here is your code."
    assert tipster.api_requests() == []
    (tip_id,) = the_tips(live_server)
    report, attached = read_back(live_server, live_desk, tip_id)
    assert report.metadata["fields"] == {"description": "rhino horn for sale"}
    assert attached.body == b"\x89PNG" * 1000


def test_without_webassembly_the_pure_javascript_build_still_encrypts(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    tipster = Tipster(chromium, live_server, init_script=NO_WASM)
    tipsters.append(tipster)
    assert tipster.page.evaluate("typeof WebAssembly") == "undefined"
    body = canary_file("nowasm", 300_000)
    tipster.fill({"description": "parrots, no wasm"}, [evidence(tmp_path, "parrot.bin", body)])

    code = tipster.submit()

    # libsodium.js reports its failed WebAssembly attempt before it falls back; nothing else.
    assert len(code.split()) == 8
    assert set(tipster.page_errors) <= {"WebAssembly is not defined"}
    assert [url for _, url, _ in tipster.api_requests("/finalize")]
    (tip_id,) = the_tips(live_server)
    report, attached = read_back(live_server, live_desk, tip_id)
    assert report.metadata["fields"] == {"description": "parrots, no wasm"}
    assert (attached.body, attached.metadata["type"]) == (body, "application/octet-stream")


def test_a_dropped_chunk_upload_resumes_and_the_tip_is_byte_identical(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    tipster = Tipster(chromium, live_server)
    tipsters.append(tipster)
    seen: list[str] = []

    def flaky(route: Any) -> None:
        seen.append(route.request.url)
        if len(seen) == 2:
            route.abort("connectionreset")  # never reaches the server
        elif len(seen) == 4:
            route.fetch()  # reaches the server and is stored ...
            route.abort("connectionreset")  # ... but the answer is lost
        else:
            route.continue_()

    tipster.page.route("**/chunks?offset=*", flaky)
    body = canary_file("resume", 9 * 1024 * 1024)  # three batches
    tipster.fill({"description": "ivory, flaky line"}, [evidence(tmp_path, "ivory.bin", body)])

    tipster.submit()

    # The report, the file's 3 batches, and the first batch again: the lost answer's batch was
    # found stored when the client asked where to resume, so it was not sent twice.
    assert len(seen) == 5
    assert len(tipster.api_requests("/drafts/")) > len(seen)  # status checks asked where to resume
    (tip_id,) = the_tips(live_server)
    report, attached = read_back(live_server, live_desk, tip_id)
    assert attached.body == body and attached.metadata["sha256"] == hashlib.sha256(body).hexdigest()
    assert report.metadata["fields"] == {"description": "ivory, flaky line"}


def test_tips_from_the_browser_and_from_the_plain_form_read_the_same(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    typed = every_field("interop")
    attachment = evidence(tmp_path, "same photo.jpg", canary_file("interop", 70_000))
    for javascript in (True, False):
        tipster = Tipster(chromium, live_server, javascript=javascript)
        tipsters.append(tipster)
        tipster.fill(typed, [attachment])
        tipster.submit()

    opened = [read_back(live_server, live_desk, tip_id) for tip_id in the_tips(live_server)]

    assert len(opened) == 2
    browser_tip, plain_tip = opened
    assert [o.kind for o in browser_tip] == [o.kind for o in plain_tip] == ["report", "file"]
    # The browser knows a file's size and hash before encrypting it, so its body stays inside
    # the file object; the plain form learns them at the end and stores a detached body
    # (named by "body"). Everything a reader sees is the same.
    assert "body" not in browser_tip[1].metadata and "body" in plain_tip[1].metadata
    plain_metadata = [{k: v for k, v in o.metadata.items() if k != "body"} for o in plain_tip]
    assert [o.metadata for o in browser_tip] == plain_metadata
    assert [o.body for o in browser_tip] == [o.body for o in plain_tip]


def test_when_the_browser_path_fails_the_tipster_is_told_and_chooses_the_plain_form(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    tipster = Tipster(chromium, live_server)
    tipsters.append(tipster)
    tipster.page.route(
        "**/api/v1/drafts",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": "internal_error", "message": "Something went wrong on our side."}',
        ),
    )
    tipster.fill(
        {"description": "tortoises, server down"}, [evidence(tmp_path, "t.bin", b"t" * 5000)]
    )
    tipster.page.click("#report-form button[type=submit]")

    failure = tipster.page.wait_for_selector("#intake-failed:not([hidden])")
    assert "Something went wrong on our side." in failure.inner_text()
    assert not any("/submit/" in url and method == "POST" for method, url, _ in tipster.requests)
    assert the_tips(live_server) == []
    tipster.page.click("#intake-plain")  # the tipster's explicit choice
    tipster.page.wait_for_selector(".code-word")

    (tip_id,) = the_tips(live_server)
    report, attached = read_back(live_server, live_desk, tip_id)
    assert report.metadata["fields"] == {"description": "tortoises, server down"}
    assert attached.body == b"t" * 5000
