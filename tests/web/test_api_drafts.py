"""The browser intake's API: framed ciphertext in order, nothing visible until finalize."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from app import create_app
from app.config import BlobStoreKind, Config
from app.models import EncryptedObject, Tip, TipState
from app.services import tipster as tipster_service
from app.services.drafts import draft_token
from app.services.report_form import MAX_FILES_PER_REQUEST
from app.services.upload_plan import MAX_BATCH_BYTES, MAX_REPORT_CIPHERTEXT
from crypto.layout import CIPHERTEXT_CHUNK_SIZE, HEADER_BYTES, ciphertext_length, padded_length
from tests.support.canary import canary_file, new_canary
from tests.support.reading import read_tip_as
from tests.web.api_steps import DRAFTS, PythonBrowser, batches, plan
from tests.web.conftest import ReceivingDesk, add_desk
from tests.web.tipster_steps import every_field, submit_report

FIVE_MB = 5 * 1024 * 1024 + 123
REPORT, BODY, FILE = 0, 1, 2  # the objects of the `browser` fixture's draft
# Any batch up to the server's limit that ends on a chunk boundary is accepted; batches of
# 64 chunks cut the fixture's 5 MB body in two.
SMALL_BATCH = 64 * CIPHERTEXT_CHUNK_SIZE + HEADER_BYTES


def tips_in_state(app: Flask, state: TipState) -> int:
    session = app.extensions["tipline.sessions"]()
    try:
        return int(session.scalar(select(func.count()).where(Tip.state == state)) or 0)
    finally:
        session.close()


def nothing_visible_to_staff(app: Flask) -> bool:
    return tips_in_state(app, TipState.SUBMITTED) == 0


def error_of(response: object) -> str:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "message"} and body["message"], body
    return str(body["error"])


def object_rows(app: Flask, tip_id: str | None = None) -> list[tuple[str, int]]:
    """(kind, ciphertext_size) of every object row (of one tip), in seq order."""
    session = app.extensions["tipline.sessions"]()
    try:
        query = select(EncryptedObject.kind, EncryptedObject.ciphertext_size)
        if tip_id is not None:
            query = query.where(EncryptedObject.tip_id == tip_id)
        rows = session.execute(query.order_by(EncryptedObject.tip_id, EncryptedObject.seq))
        return [(str(kind), int(size)) for kind, size in rows]
    finally:
        session.close()


@pytest.fixture
def browser(client: FlaskClient, desk: ReceivingDesk) -> PythonBrowser:
    """A draft with a report and one 5 MB file (its body object then its file object),
    opened but not uploaded."""
    tipster = PythonBrowser(
        client, plan({"description": "pangolin scales"}, [("a.jpg", canary_file("x", FIVE_MB))])
    )
    assert tipster.create(desk.slug).status_code == 201
    return tipster


def body_batches(browser: PythonBrowser) -> list[tuple[int, bytes]]:
    """The fixture's body object in two batches."""
    cut = batches(browser.ciphertexts[BODY], SMALL_BATCH)
    assert len(cut) == 2
    return cut


@pytest.mark.parametrize("blob_store", [BlobStoreKind.FILE, BlobStoreKind.DATABASE])
def test_a_python_browser_round_trip_is_read_back_by_the_recovery_key(
    app_config: Config, blob_store: BlobStoreKind
) -> None:
    app = create_app(replace(app_config, blob_store=blob_store))
    desk = add_desk(app, "kenya", ["KE"])
    canary = new_canary()
    fields = every_field(canary)
    fields["listing_urls"] = [fields["listing_urls"]]  # type: ignore[assignment]
    files = [(f"{canary}.jpg", canary_file(canary, FIVE_MB)), ("empty.txt", b"")]
    tipster = PythonBrowser(app.test_client(), plan(fields, files, lang="fr"))

    created = tipster.create(desk.slug, lang="fr")
    assert created.status_code == 201
    assert len(tipster.draft["code"].split()) == 8 and tipster.draft["code_language"] == "french"
    assert [o["stored"] for o in tipster.draft["objects"]] == [0, 0, 0, 0, 0]
    tipster.upload_all()
    assert nothing_visible_to_staff(app)
    finalized = tipster.finalize()
    assert finalized.status_code == 200, finalized.get_json()
    assert finalized.get_json()["state"] == "submitted"

    opened = read_tip_as(
        desk.recovery,
        app.extensions["tipline.engine"],
        app.extensions["tipline.blobs"],
        tipster.draft_id,
    )
    assert [o.kind for o in opened] == ["report", "file", "file"]
    assert opened[0].metadata == {"v": 1, "kind": "report", "lang": "fr", "fields": fields}
    rows = object_rows(app, tipster.draft_id)
    assert [kind for kind, _ in rows] == ["report", "body", "file", "body", "file"]
    assert [size for _, size in rows] == [p.ciphertext_size for p in tipster.planned]
    body_ids = [o["object_id"] for o in tipster.draft["objects"][1::2]]
    for item, (name, body), body_id in zip(opened[1:], files, body_ids, strict=True):
        assert (item.metadata["name"], item.body) == (name, body)
        assert item.metadata["sha256"] == hashlib.sha256(body).hexdigest()
        assert item.metadata["body"] == body_id and item.metadata["size"] == len(body)
    session = app.extensions["tipline.sessions"]()
    access = tipster_service.login_with_code(
        session, code_text=tipster.draft["code"], pepper=app_config.pepper
    )
    assert access.tip.id == tipster.draft_id and access.tip.draft_expires_on is None
    session.close()
    app.extensions["tipline.engine"].dispose()


def test_the_code_of_a_draft_opens_nothing_until_it_is_finalized(
    app: Flask, browser: PythonBrowser, app_config: Config
) -> None:
    browser.upload_all()
    session = app.extensions["tipline.sessions"]()
    with pytest.raises(tipster_service.CodeNotRecognised):
        tipster_service.login_with_code(
            session, code_text=browser.draft["code"], pepper=app_config.pepper
        )
    session.close()
    assert nothing_visible_to_staff(app) and tips_in_state(app, TipState.DRAFT) == 1


def test_a_chunk_out_of_order_is_refused_with_where_to_resume(
    app: Flask, browser: PythonBrowser
) -> None:
    _, (second_offset, second) = body_batches(browser)
    response = browser.send(BODY, second_offset, second)
    assert response.status_code == 409 and error_of(response) == "offset_mismatch"
    assert "Resume from byte 0" in response.get_json()["message"]
    assert browser.status().get_json()["objects"][BODY]["stored"] == 0
    assert nothing_visible_to_staff(app)


def test_a_replayed_chunk_is_refused_and_changes_nothing(
    app: Flask, browser: PythonBrowser
) -> None:
    offset, data = body_batches(browser)[0]
    assert browser.send(BODY, offset, data).get_json() == {"stored": len(data)}
    replay = browser.send(BODY, offset, data)
    assert replay.status_code == 409 and error_of(replay) == "offset_mismatch"
    assert browser.status().get_json()["objects"][BODY]["stored"] == len(data)
    assert nothing_visible_to_staff(app)


def test_a_batch_cut_short_keeps_at_most_its_whole_chunks_and_the_rest_can_be_sent(
    app: Flask, browser: PythonBrowser
) -> None:
    """The store writes a batch as it arrives; a body that ends early leaves no partial
    chunk, and the client resumes from what the server reports."""
    offset, data = body_batches(browser)[0]
    arrived = len(data) // 2
    cut = browser.client.post(
        f"{DRAFTS}/{browser.draft_id}/objects/{browser.object_id(BODY)}/chunks?offset={offset}",
        data=data[:arrived],
        content_type="application/octet-stream",
        headers=browser.headers(),
        environ_overrides={"CONTENT_LENGTH": str(len(data))},
    )
    assert cut.status_code == 400 and error_of(cut)
    stored = browser.status().get_json()["objects"][BODY]["stored"]
    # Nothing, or the whole chunks that arrived; never a partial chunk.
    assert stored == 0 or (
        HEADER_BYTES <= stored <= arrived and (stored - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE == 0
    )
    rest = browser.send(BODY, stored, data[stored - offset :])
    assert rest.get_json() == {"stored": len(data)}
    assert nothing_visible_to_staff(app)


def test_an_oversize_chunk_batch_is_refused(app: Flask, browser: PythonBrowser) -> None:
    too_big = browser.send(BODY, 0, bytes(MAX_BATCH_BYTES + 1))  # refused by its length
    assert too_big.status_code == 413 and error_of(too_big) == "chunk_too_large"
    assert browser.status().get_json()["objects"][BODY]["stored"] == 0
    assert nothing_visible_to_staff(app)


def test_a_chunk_must_end_on_a_secretstream_chunk_boundary_and_within_the_object(
    app: Flask, browser: PythonBrowser
) -> None:
    ragged = browser.send(BODY, 0, browser.ciphertexts[BODY][:1000])
    assert ragged.status_code == 400 and error_of(ragged) == "bad_chunk"
    report = browser.ciphertexts[REPORT]
    past_the_end = browser.send(REPORT, 0, report + b"\x00" * 17)
    assert past_the_end.status_code == 400 and error_of(past_the_end) == "bad_chunk"
    assert browser.send(REPORT, 0, b"").status_code == 411  # no body at all: no Content-Length
    assert [o["stored"] for o in browser.status().get_json()["objects"]] == [0, 0, 0]
    assert nothing_visible_to_staff(app)


def test_finalize_before_every_chunk_arrived_is_refused(app: Flask, browser: PythonBrowser) -> None:
    browser.upload(REPORT)
    browser.upload(FILE)
    (offset, data), rest = body_batches(browser)
    browser.send(BODY, offset, data)
    early = browser.finalize()
    assert early.status_code == 409 and error_of(early) == "upload_incomplete"
    assert "1 encrypted object(s)" in early.get_json()["message"]
    assert nothing_visible_to_staff(app)
    assert browser.send(BODY, *rest).status_code == 200
    assert browser.finalize().status_code == 200
    assert tips_in_state(app, TipState.SUBMITTED) == 1


def test_an_unknown_draft_is_not_found(app: Flask, client: FlaskClient, app_config: Config) -> None:
    unknown = str(uuid.uuid4())
    token = draft_token(app_config.secret_key, unknown)
    for response in (
        client.get(f"{DRAFTS}/{unknown}", headers={"Authorization": f"Bearer {token}"}),
        client.post(
            f"{DRAFTS}/{unknown}/objects/{uuid.uuid4()}/chunks?offset=0",
            data=b"x" * 24,
            content_type="application/octet-stream",
            headers={"Authorization": f"Bearer {token}"},
        ),
        client.post(
            f"{DRAFTS}/{unknown}/finalize",
            json={"commitments": {}, "sealed_keys": []},
            headers={"Authorization": f"Bearer {token}"},
        ),
    ):
        assert response.status_code == 404 and error_of(response) == "draft_not_found"
    assert nothing_visible_to_staff(app)


def test_an_unknown_object_of_a_real_draft_is_not_found(browser: PythonBrowser) -> None:
    response = browser.client.post(
        f"{DRAFTS}/{browser.draft_id}/objects/{uuid.uuid4()}/chunks?offset=0",
        data=browser.ciphertexts[REPORT],
        content_type="application/octet-stream",
        headers=browser.headers(),
    )
    assert response.status_code == 404 and error_of(response) == "object_not_found"


@pytest.mark.parametrize("token", ["", "not-the-token", "Zm9v" * 11])
def test_a_bad_or_missing_token_is_refused_and_stores_nothing(
    app: Flask, browser: PythonBrowser, token: str
) -> None:
    offset, data = batches(browser.ciphertexts[REPORT])[0]
    for response in (
        browser.send(REPORT, offset, data, token=token),
        browser.client.get(f"{DRAFTS}/{browser.draft_id}", headers=browser.headers(token)),
    ):
        assert response.status_code == 401 and error_of(response) == "bad_token"
    other = PythonBrowser(browser.client, browser.planned)
    other.create("kenya")
    stolen = browser.send(REPORT, offset, data, token=other.token)  # valid, for another draft
    assert stolen.status_code == 401
    assert browser.status().get_json()["objects"][REPORT]["stored"] == 0
    assert nothing_visible_to_staff(app)


SMALLEST = ciphertext_length(4096)  # one padding unit: the smallest v1 object


def test_impossible_sizes_and_plans_are_refused_when_the_draft_is_opened(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    def open_draft(objects: object, desk_slug: str = desk.slug) -> tuple[int, str, str]:
        response = client.post(DRAFTS, json={"desk": desk_slug, "objects": objects})
        return response.status_code, error_of(response), response.get_json()["message"]

    report = {"kind": "report", "ciphertext_size": SMALLEST}
    body = {"kind": "body", "ciphertext_size": ciphertext_length(padded_length(5_000_000))}
    file = {"kind": "file", "ciphertext_size": SMALLEST}
    # Valid for a v1 object, but more than 1 MiB of metadata: a file object with its body.
    too_big_file = {"kind": "file", "ciphertext_size": ciphertext_length(3 * 1024 * 1024)}
    assert too_big_file["ciphertext_size"] > MAX_REPORT_CIPHERTEXT
    inline = "a file carrying its own body is not accepted"
    unpaired = "Each body object must be followed by the file object that names it."
    refusals = [
        # An inline file (the old browser plan), alone or after a pair, or before its body.
        ([report, {"kind": "file", "ciphertext_size": body["ciphertext_size"]}], inline),
        ([report, body, file, file], inline),
        ([report, file, body], inline),
        # A body with no file after it, or another body.
        ([report, body], unpaired),
        ([report, body, file, body], unpaired),
        ([report, body, body, file], unpaired),
        # Not starting with the report; kinds a draft never holds.
        ([body, file], "A draft starts with its report object."),
        ([], "A draft starts with its report object."),
        ([report, report], "After the report, a draft holds only body and file objects."),
        ([report, {"kind": "message", "ciphertext_size": SMALLEST}], "(report, body or file)"),
        ([report, {"kind": "body", "ciphertext_size": True}, file], "(report, body or file)"),
        # Lengths no v1 object has, or more than metadata alone for a file object.
        ([{"kind": "report", "ciphertext_size": 5000}], "not the length of any v1"),
        ([report, {"kind": "body", "ciphertext_size": SMALLEST + 1}, file], "not the length"),
        ([report, body, {"kind": "file", "ciphertext_size": 4096 + 41 + 1}], "not the length"),
        ([report, body, too_big_file], "larger than one without a body of its own can be"),
        # The file limit counts files (pairs), not objects.
        ([report] + [body, file] * (MAX_FILES_PER_REQUEST + 1), "at most 50 files"),
        ("everything", "'objects' must be a list."),
    ]
    for objects, message in refusals:
        status, code, text = open_draft(objects)
        assert (status, code) == (400, "invalid_input"), (objects, text)
        assert message in text, (message, text)
    assert open_draft([report], desk_slug="atlantis")[:2] == (404, "not_found")
    assert tips_in_state(app, TipState.DRAFT) == 0 and object_rows(app) == []

    most = [report] + [body, file] * MAX_FILES_PER_REQUEST  # 101 objects, 50 files: fine
    response = client.post(DRAFTS, json={"desk": desk.slug, "objects": most})
    assert response.status_code == 201, response.get_json()
    assert [o["kind"] for o in response.get_json()["objects"]] == [o["kind"] for o in most]


def test_a_draft_over_the_upload_limit_is_refused(database_url: str, tmp_path: Path) -> None:
    from tests.web.conftest import make_test_config

    small = create_app(
        make_test_config(database_url, tmp_path / "small", max_upload_bytes=1024 * 1024)
    )
    desk = add_desk(small, "kenya", ["KE"])
    tipster = PythonBrowser(
        small.test_client(), plan({"description": "x"}, [("big.bin", b"\x01" * 2 * 1024 * 1024)])
    )
    response = tipster.create(desk.slug)
    assert response.status_code == 413 and error_of(response) == "draft_too_large"
    assert tips_in_state(small, TipState.DRAFT) == 0
    small.extensions["tipline.engine"].dispose()


def test_a_desk_nobody_can_read_gets_no_draft(app: Flask, client: FlaskClient) -> None:
    add_desk(app, "lonely", ["FR"], with_key=False)
    tipster = PythonBrowser(client, plan({"description": "x"}))
    response = tipster.create("lonely")
    assert response.status_code == 503 and error_of(response) == "desk_unavailable"


def test_sealed_keys_must_cover_exactly_the_desk_recipients_and_the_tipster(
    app: Flask, browser: PythonBrowser
) -> None:
    browser.upload_all()
    body = browser.finalize_body()
    without_recovery = {**body, "sealed_keys": body["sealed_keys"][1:]}
    response = browser.finalize(without_recovery)
    assert response.status_code == 409 and error_of(response) == "recipients_changed"
    doubled = {**body, "sealed_keys": body["sealed_keys"] + body["sealed_keys"][:1]}
    assert error_of(browser.finalize(doubled)) == "invalid_input"
    zero = {
        **body,
        "commitments": {"thread": "A" * 43 + "=", "internal": body["commitments"]["internal"]},
    }
    assert error_of(browser.finalize(zero)) == "invalid_input"
    assert nothing_visible_to_staff(app)
    assert browser.finalize(body).status_code == 200


def test_a_finalized_tip_takes_no_more_chunks_and_no_second_finalize(
    app: Flask, browser: PythonBrowser
) -> None:
    browser.upload_all()
    assert browser.finalize().status_code == 200
    again = browser.finalize()
    assert again.status_code == 409 and error_of(again) == "already_submitted"
    late = browser.send(REPORT, 0, browser.ciphertexts[REPORT])
    assert late.status_code == 409 and error_of(late) == "already_submitted"
    assert (
        browser.client.delete(f"{DRAFTS}/{browser.draft_id}", headers=browser.headers()).status_code
        == 409
    )
    assert tips_in_state(app, TipState.SUBMITTED) == 1


def test_a_cancelled_draft_leaves_no_rows_and_no_blobs(
    app: Flask, browser: PythonBrowser, app_config: Config
) -> None:
    offset, data = body_batches(browser)[0]
    browser.send(BODY, offset, data)
    browser.upload(REPORT)
    response = browser.client.delete(f"{DRAFTS}/{browser.draft_id}", headers=browser.headers())
    assert response.status_code == 204
    assert tips_in_state(app, TipState.DRAFT) == 0
    session = app.extensions["tipline.sessions"]()
    assert session.scalar(select(func.count()).select_from(EncryptedObject)) == 0
    session.close()
    blobs = app_config.data_dir / "blobs"
    assert [p for p in blobs.rglob("*") if p.is_file()] == []
    assert browser.status().status_code == 404


def test_the_api_refuses_other_body_types_and_cross_site_requests(
    client: FlaskClient, desk: ReceivingDesk, browser: PythonBrowser
) -> None:
    as_form = client.post(DRAFTS, data={"desk": desk.slug})
    assert as_form.status_code == 415 and error_of(as_form) == "unsupported_media_type"
    as_text = client.post(DRAFTS, data='{"desk": "kenya"}', content_type="text/plain")
    assert as_text.status_code == 415
    not_json = client.post(DRAFTS, data="{", content_type="application/json")
    assert not_json.status_code == 400 and error_of(not_json) == "invalid_input"
    chunk_as_json = client.post(
        f"{DRAFTS}/{browser.draft_id}/objects/{browser.object_id(0)}/chunks?offset=0",
        json={"x": 1},
        headers=browser.headers(),
    )
    assert chunk_as_json.status_code == 415
    cross_site = client.post(
        DRAFTS, json={"desk": desk.slug, "objects": []}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403 and error_of(cross_site) == "cross_site_request"
    unknown_route = client.get("/api/v1/nothing-here")
    assert unknown_route.status_code == 404 and error_of(unknown_route) == "not_found"


def test_a_batch_whose_answer_was_lost_is_found_stored_and_the_upload_goes_on(
    app: Flask, browser: PythonBrowser
) -> None:
    (first_offset, first), (second_offset, second) = body_batches(browser)
    assert browser.send(BODY, first_offset, first).status_code == 200
    # The client saw no answer and asks where to resume: the first batch is there.
    assert browser.status().get_json()["objects"][BODY]["stored"] == len(first)
    assert browser.send(BODY, second_offset, second).status_code == 200
    browser.upload(REPORT)
    browser.upload(FILE)
    assert browser.finalize().status_code == 200
    assert tips_in_state(app, TipState.SUBMITTED) == 1


def test_an_expired_draft_refuses_uploads(app: Flask, browser: PythonBrowser) -> None:
    from datetime import date

    session = app.extensions["tipline.sessions"]()
    tip = session.get_one(Tip, browser.draft_id)
    tip.draft_expires_on = date(2020, 1, 1)
    session.commit()
    session.close()
    response = browser.send(REPORT, 0, browser.ciphertexts[REPORT])
    assert response.status_code == 410 and error_of(response) == "draft_expired"
    assert nothing_visible_to_staff(app)


def insertion_order(app: Flask, table: str, key: str) -> list[str]:
    """``key`` of every row of ``table``, in the order the rows were inserted, as far as the
    database keeps one: SQLite's rowid, PostgreSQL's inserting transaction."""
    engine = app.extensions["tipline.engine"]
    order = "rowid" if engine.dialect.name == "sqlite" else "xmin::text::bigint"
    with engine.connect() as connection:
        return list(connection.scalars(text(f"SELECT {key} FROM {table} ORDER BY {order}")))  # noqa: S608


def test_a_browser_tip_is_inserted_when_finalized_as_a_plain_form_tip_is_when_posted(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, browser: PythonBrowser
) -> None:
    # The browser's upload began before a plain form was posted, and ended after it.
    browser.upload_all()
    posted = submit_report(client, desk.slug, {"description": "posted meanwhile"}, [("b", b"b")])
    assert posted.code is not None
    finalized = browser.finalize()
    assert finalized.status_code == 200, finalized.get_json()
    tip_ids = insertion_order(app, "tips", "id")

    # Rows written when the upload began would sit before the plain tip's and date the
    # browser tip's start (docs/THREAT_MODEL.md); they are written at finalize instead.
    assert tip_ids[-1] == browser.draft_id
    assert insertion_order(app, "objects", "tip_id") == [tip_ids[0]] * 3 + [tip_ids[1]] * 3
    report, attached = read_tip_as(
        desk.recovery,
        app.extensions["tipline.engine"],
        app.extensions["tipline.blobs"],
        browser.draft_id,
    )
    assert report.metadata["fields"] == {"description": "pangolin scales"}
    assert attached.metadata["body"] == browser.object_id(BODY)


def test_of_two_concurrent_finalizes_one_submits_and_the_other_finds_it_submitted(
    app: Flask, desk: ReceivingDesk, browser: PythonBrowser
) -> None:
    browser.upload_all()
    body = browser.finalize_body()
    answers: list[int] = []

    def finalize_in_its_own_request() -> None:
        with app.test_client() as other:
            path = f"{DRAFTS}/{browser.draft_id}/finalize"
            answers.append(other.post(path, json=body, headers=browser.headers()).status_code)

    # Both requests start while the tip's row is write-locked, so both are inside finalize
    # when the lock is released and must queue for it.
    engine = app.extensions["tipline.engine"]
    with engine.connect() as holder:
        holder.execute(
            text("UPDATE tips SET state = state WHERE id = :id"), {"id": browser.draft_id}
        )
        threads = [threading.Thread(target=finalize_in_its_own_request) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        holder.rollback()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [200, 409]  # 409: already_submitted
    assert tips_in_state(app, TipState.SUBMITTED) == 1
    _, attached = read_tip_as(
        desk.recovery, engine, app.extensions["tipline.blobs"], browser.draft_id
    )
    assert attached.metadata["body"] == browser.object_id(BODY)


@pytest.mark.parametrize("opener", ["[", '{"":'])
def test_a_json_body_nested_50000_deep_is_a_400_with_a_clear_error(
    client: FlaskClient, desk: ReceivingDesk, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    body = opener * 50_000 + "1" + closer * 50_000
    response = client.post(DRAFTS, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_input",
        "message": "The JSON body nests deeper than 32 levels.",
    }


def test_brackets_inside_json_strings_do_not_count_as_nesting(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    body = '{"desk": "[[[[\\"{{{{' + "[" * 1000 + '", "lang": "en", "objects": []}'
    response = client.post(DRAFTS, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nests deeper" not in response.get_json()["message"]
    nested_32 = "[" * 31 + "]" * 31
    response = client.post(
        DRAFTS, data=f'{{"desk": "kenya", "objects": {nested_32}}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "nests deeper" not in response.get_json()["message"]
