"""The report form in real Chromium: encrypted in the browser with JavaScript, posted without.

Every request the page sends is recorded, so the tests can prove that no plaintext ever left
the browser on the JavaScript path, and a recovery key reads back exactly what was typed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select

from app import create_app
from app.models import Base, EncryptedObject, Tip, TipState
from app.services import tipster as tipster_service
from app.services.upload_plan import MAX_BATCH_BYTES
from crypto.keys import key_id
from crypto.layout import CHUNK_SIZE, CIPHERTEXT_CHUNK_SIZE, HEADER_BYTES
from tests.browser.conftest import LiveServer
from tests.support.canary import (
    canary_file,
    database_dump,
    files_containing,
    files_under,
    new_canary,
)
from tests.support.reading import OpenedObject, read_tip_as
from tests.support.served import tipline_serve
from tests.web.api_steps import batches
from tests.web.conftest import ReceivingDesk, add_desk, make_test_config
from tests.web.tipster_steps import every_field

pytestmark = pytest.mark.browser

FIVE_MB = 5 * 1024 * 1024 + 123
MIB = 1024 * 1024
# The plaintext one chunk batch carries; a body of two of these and a bit needs three.
BATCH_PLAINTEXT = (MAX_BATCH_BYTES - HEADER_BYTES) // CIPHERTEXT_CHUNK_SIZE * CHUNK_SIZE
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
        if len(seen) == 2:  # the body's first batch
            route.abort("connectionreset")  # never reaches the server
        elif len(seen) == 4:  # the body's second batch
            route.fetch()  # reaches the server and is stored ...
            route.abort("connectionreset")  # ... but the answer is lost
        else:
            route.continue_()

    tipster.page.route("**/chunks?offset=*", flaky)
    body = canary_file("resume", 2 * BATCH_PLAINTEXT + MIB)
    tipster.fill({"description": "ivory, flaky line"}, [evidence(tmp_path, "ivory.bin", body)])

    tipster.submit()

    (tip_id,) = the_tips(live_server)
    session = live_server.app.extensions["tipline.sessions"]()
    try:
        rows = session.execute(
            select(EncryptedObject.id, EncryptedObject.kind, EncryptedObject.ciphertext_size)
            .where(EncryptedObject.tip_id == tip_id)
            .order_by(EncryptedObject.seq)
        ).all()
    finally:
        session.close()
    assert [str(kind) for _, kind, _ in rows] == ["report", "body", "file"]
    body_id, body_size = rows[1][0], rows[1][2]
    assert len(batches(bytes(body_size))) == 3  # the body object goes up in three batches
    # The report, the body's 3 batches, its first batch again, then the file object: the
    # batch whose answer was lost was found stored when the client asked where to resume,
    # so it was not sent twice.
    assert len(seen) == 6
    body_requests = [url for url in seen if f"/objects/{body_id}/" in url]
    assert [url.rsplit("offset=", 1)[1] for url in body_requests] == [
        "0",
        "0",
        str(MAX_BATCH_BYTES),
        str(2 * MAX_BATCH_BYTES - HEADER_BYTES),
    ]
    assert len(tipster.api_requests("/drafts/")) > len(seen)  # status checks asked where to resume
    report, attached = read_back(live_server, live_desk, tip_id)
    assert attached.body == body and attached.metadata["sha256"] == hashlib.sha256(body).hexdigest()
    assert attached.metadata["body"] == body_id
    assert report.metadata["fields"] == {"description": "ivory, flaky line"}


@pytest.fixture
def served_by_gunicorn(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, ReceivingDesk]]:
    """`tipline serve` (gunicorn, as in production) on this test's database and data dir,
    with a desk; the returned LiveServer's app only reads back what the server stored."""
    config = make_test_config(database_url, tmp_path / "instance")
    reader = create_app(config)
    desk = add_desk(reader, "kenya", ["KE"])
    env = {
        "PATH": "/usr/bin:/bin",
        "TIPLINE_DATA_DIR": str(config.data_dir),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "development",  # plain http on loopback
        "TMPDIR": str(tmp_path / "server-tmp"),
    }
    (tmp_path / "server-tmp").mkdir()
    try:
        with tipline_serve(env) as served:
            yield LiveServer(served.url, reader, config), desk
    finally:
        reader.extensions["tipline.engine"].dispose()


def test_through_gunicorn_as_in_production_the_tip_arrives_whole_and_no_plaintext_lands(
    tipsters: list[Tipster],
    chromium: Any,
    served_by_gunicorn: tuple[LiveServer, ReceivingDesk],
    tmp_path: Path,
) -> None:
    # The chunk batches take gunicorn's socket reader (app/web/upload/socket_body.py) here; the
    # other browser tests run on Werkzeug's server, which reads them through the WSGI stream.
    server, desk = served_by_gunicorn
    canary = new_canary()
    body = canary_file(canary, 2 * BATCH_PLAINTEXT + 12_345)  # three batches of the body
    tipster = Tipster(chromium, server)
    tipsters.append(tipster)
    tipster.fill({"description": f"rhino horn {canary}"}, [evidence(tmp_path, "horn.jpg", body)])

    code = tipster.submit()

    assert len(code.split()) == 8 and tipster.page_errors == []
    (tip_id,) = the_tips(server)
    report, attached = read_back(server, desk, tip_id)
    assert report.metadata["fields"] == {"description": f"rhino horn {canary}"}
    assert attached.body == body and attached.metadata["sha256"] == hashlib.sha256(body).hexdigest()
    database = server.config.database_url.removeprefix("sqlite:///")
    places = files_under(
        server.config.data_dir,
        tmp_path / "server-tmp",
        *(Path(database + s) for s in ("", "-wal", "-shm")),
    )
    assert files_containing([canary.encode()], places) == []
    assert canary.encode() not in database_dump(server.app.extensions["tipline.engine"])


class CuttingRelay:
    """A TCP relay in front of the live server that, once, cuts a connection in the middle of
    a request: as soon as it has carried ``cut_after`` bytes toward the server. The browser
    and the server each see a real dropped connection."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port, self.cut_after = target_port, cut_after
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(
                target=self._toward_server, args=(client, upstream), daemon=True
            ).start()
            threading.Thread(
                target=self._toward_browser, args=(upstream, client), daemon=True
            ).start()

    def _toward_server(self, client: socket.socket, upstream: socket.socket) -> None:
        carried = 0
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if not self.cut.is_set() and carried + len(data) >= self.cut_after:
                    upstream.sendall(data[: self.cut_after - carried])
                    self.cut.set()
                    break
                upstream.sendall(data)
                carried += len(data)
        for end in (client, upstream):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def _toward_browser(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)

    def close(self) -> None:
        self.listener.close()


def test_a_connection_cut_mid_batch_resumes_from_the_last_whole_chunk_the_server_kept(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    relay = CuttingRelay(int(live_server.url.rsplit(":", 1)[1]), cut_after=3 * MIB)
    try:
        tipster = Tipster(
            chromium, dataclasses.replace(live_server, url=f"http://127.0.0.1:{relay.port}")
        )
        tipsters.append(tipster)
        body = canary_file("cut", FIVE_MB)  # one batch: the cut falls inside it
        tipster.fill(
            {"description": "pangolin scales, cut"}, [evidence(tmp_path, "scales.bin", body)]
        )
        tipster.submit()
    finally:
        relay.close()

    assert relay.cut.is_set()
    (tip_id,) = the_tips(live_server)
    report, attached = read_back(live_server, live_desk, tip_id)
    assert report.metadata["fields"] == {"description": "pangolin scales, cut"}
    assert attached.body == body and attached.metadata["sha256"] == hashlib.sha256(body).hexdigest()
    # The body's batch went up twice: from 0 (cut after ~3 MiB), then from where the server's
    # whole chunks ended, inside the batch, not from its start.
    body_id = attached.metadata["body"]
    offsets = [
        int(url.rsplit("offset=", 1)[1])
        for _, url, _ in tipster.api_requests(f"/objects/{body_id}/chunks")
    ]
    assert len(offsets) == 2 and offsets[0] == 0, offsets
    resumed = offsets[1]
    assert MIB < resumed < 3 * MIB and (resumed - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE == 0


# Columns that must differ between any two tips, whichever path they came through: ids,
# the code's lookup digest, salt and public key, the key commitments, and the activity
# order. Everything else stored about a tip must be the same for the same input.
PER_TIP_COLUMNS = {
    "tips": {
        "id",
        "lookup_digest",
        "tip_salt",
        "tipster_public_key",
        "thread_commitment",
        "internal_commitment",
        "activity_seq",
    },
    "objects": {"id", "tip_id"},
    "sealed_keys": {"id", "tip_id", "sealed"},  # sealed: random, 96 bytes, checked below
}


def stored_rows(server: LiveServer, tip_id: str, tipster_key_id: str) -> dict[str, list[dict]]:
    """Every row of every table that names the tip, minus what is unique to any tip."""
    tables: list[Table] = [
        table
        for table in Base.metadata.sorted_tables
        if table.name == "tips" or "tip_id" in table.columns
    ]
    stored: dict[str, list[dict]] = {}
    with server.app.extensions["tipline.engine"].connect() as connection:
        for table in tables:
            key = table.c.id if table.name == "tips" else table.c.tip_id
            order = [c for c in ("seq", "id") if c in table.columns and table.name != "tips"]
            query = select(table).where(key == tip_id).order_by(*(table.c[c] for c in order))
            skip = PER_TIP_COLUMNS.get(table.name, {"id", "tip_id"})
            rows = []
            for row in connection.execute(query).mappings():
                kept = {name: value for name, value in row.items() if name not in skip}
                if table.name == "sealed_keys":
                    assert len(row["sealed"]) == 96
                    if kept["key_id"] == tipster_key_id:
                        kept["key_id"] = "the tipster's"
                rows.append(kept)
            stored[table.name] = rows
    return stored


def test_tips_from_the_browser_and_from_the_plain_form_read_the_same(
    tipsters: list[Tipster],
    chromium: Any,
    live_server: LiveServer,
    live_desk: ReceivingDesk,
    tmp_path: Path,
) -> None:
    """The privacy property of the two intake paths: for the same typed fields and the same
    attachment, nothing stored tells which tip came from a browser with JavaScript off."""
    typed = every_field("interop")
    attachment = evidence(tmp_path, "same photo 象牙.jpg", canary_file("interop", 70_000))
    for javascript in (True, False):
        tipster = Tipster(chromium, live_server, javascript=javascript)
        tipsters.append(tipster)
        tipster.fill(typed, [attachment])
        tipster.submit()
        if javascript:
            assert tipster.api_requests("/finalize")
        else:
            assert tipster.api_requests() == []

    tip_ids = the_tips(live_server)
    opened = [read_back(live_server, live_desk, tip_id) for tip_id in tip_ids]

    assert len(opened) == 2
    browser_tip, plain_tip = opened
    assert [o.kind for o in browser_tip] == [o.kind for o in plain_tip] == ["report", "file"]
    # Both wrote the file's body as a detached body object that the file object names.
    for tip in opened:
        assert tip[1].metadata["size"] == 70_000 and "body" in tip[1].metadata
    unnamed = [[{k: v for k, v in o.metadata.items() if k != "body"} for o in t] for t in opened]
    assert unnamed[0] == unnamed[1]
    assert [o.body for o in browser_tip] == [o.body for o in plain_tip]

    session = live_server.app.extensions["tipline.sessions"]()
    try:
        tipster_keys = {
            tip_id: key_id(session.get_one(Tip, tip_id).tipster_public_key) for tip_id in tip_ids
        }
    finally:
        session.close()
    browser_rows, plain_rows = (stored_rows(live_server, t, tipster_keys[t]) for t in tip_ids)
    assert [row["kind"] for row in browser_rows["objects"]] == ["report", "body", "file"]
    assert [row["seq"] for row in browser_rows["objects"]] == [0, 1, 2]
    assert browser_rows["tips"][0]["draft_expires_on"] is None
    assert len(browser_rows["sealed_keys"]) == 3  # recovery key: both scopes; tipster: thread
    for table in browser_rows:
        assert browser_rows[table] == plain_rows[table], table
    # The blobs are the same size too.
    blobs = live_server.app.extensions["tipline.blobs"]
    blob_sizes = [[blobs.size(oid) for oid in object_ids(live_server, t)] for t in tip_ids]
    assert blob_sizes[0] == blob_sizes[1] == [r["ciphertext_size"] for r in plain_rows["objects"]]


def object_ids(server: LiveServer, tip_id: str) -> list[str]:
    """The tip's object ids, in seq order."""
    with server.app.extensions["tipline.engine"].connect() as connection:
        query = select(EncryptedObject.id).where(EncryptedObject.tip_id == tip_id)
        return list(connection.scalars(query.order_by(EncryptedObject.seq)))


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
